"""File mode on one side: stat + sha256, stage beside the target, compare-and-swap promote, sibling lock.

Stdlib only: `bundle.py` ships this module ahead of agent.py, whose Agent
inherits `FileOps`; the engine's local side calls the same functions, so both
sides treat a single file alike. Paths are absolute and normalised, and a
symlink at the target is never followed: it is refused.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat

from usr_harness.dataset.flock import HeldLock, LockTimeout, acquire
from usr_harness.dataset.journal import fsync_dir
from usr_harness.dataset.layout import TEMP_PREFIX, entry_kind
from usr_harness.dataset.quoting import quote
from usr_harness.sync.commit.promotion import StagedFile
from usr_harness.sync.inventory.hash_cache import CHUNK
from usr_harness.sync.inventory.scan import parquet_stats


class FileRefusal(Exception):
    """A refused file operation with its error family; the agent answers with it instead of dying."""

    def __init__(self, family: str, message: str, paths: list | None = None) -> None:
        super().__init__(message)
        self.family = family
        self.message = message
        self.paths = paths or []


def checked_file_path(raw: object) -> str:
    """The path itself when it is absolute, normalised and free of control characters (`~/` is this home)."""
    if not isinstance(raw, str) or not raw:
        raise FileRefusal("usage", "file path is empty")
    if "\x00" in raw or "\n" in raw or "\r" in raw:
        raise FileRefusal("usage", f"unsafe file path {quote(raw)}: control character")
    path = os.path.expanduser(raw) if raw == "~" or raw.startswith("~/") else raw
    if not os.path.isabs(path) or path.startswith("//") or os.path.normpath(path) != path or path == "/":
        raise FileRefusal("usage", f"unsafe file path {quote(raw)}: must be absolute and normalised")
    return path


def sha256_nofollow(path: str) -> str:
    """sha256 of a regular file, refusing (ELOOP) if the name became a symlink meanwhile."""
    digest = hashlib.sha256()
    with open(os.open(path, os.O_RDONLY | os.O_NOFOLLOW), "rb", buffering=0) as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def file_entry(path: str, *, digest: bool, parquet: bool) -> dict:
    """What is at `path` (never following a symlink): kind, size, mtime, and sha256 / parquet rows+cols."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return {"exists": False}
    entry: dict = {"exists": True, "kind": entry_kind(info.st_mode), "size": info.st_size}
    entry["mtime_ns"] = info.st_mtime_ns
    if entry["kind"] == "symlink":
        entry["link"] = os.readlink(path)
    elif entry["kind"] == "file":
        if digest:
            entry["sha256"] = sha256_nofollow(path)
        if parquet:
            entry["parquet"] = parquet_stats(path)
    return entry


def refuse_non_file(path: str, entry: dict) -> None:
    """A target that exists must be a regular file: symlinks, folders and devices are never touched."""
    kind = entry.get("kind", "file") if entry.get("exists") else "file"
    if kind != "file":
        message = f"{quote(path)} is a {kind} entry; refusing to follow or replace it"
        raise FileRefusal("verify", message, [path])


def file_lock_path(target: str) -> str:
    parent, name = os.path.split(target)
    return os.path.join(parent, "." + name + ".usr.lock")


def _stage_pattern(target: str) -> re.Pattern:
    return re.compile(re.escape(TEMP_PREFIX) + "[0-9a-f]{12}-" + re.escape(os.path.basename(target)) + "$")


def sweep_file_stages(target: str) -> list[str]:
    """Remove stages a dead writer left beside `target`; only safe under the exclusive sibling lock."""
    parent = os.path.dirname(target)
    pattern = _stage_pattern(target)
    swept = [name for name in os.listdir(parent) if pattern.match(name)]
    for name in swept:
        os.unlink(os.path.join(parent, name))
    return swept


def lock_file_target(target: str, *, exclusive: bool, timeout: float) -> HeldLock:
    """The sibling `.<name>.usr.lock`; the writer's exclusive lock also sweeps abandoned stages."""
    parent = os.path.dirname(target)
    if not os.path.isdir(parent):
        raise FileRefusal("staging", f"folder {parent} does not exist; create it first", [parent])
    try:
        held = acquire(file_lock_path(target), exclusive=exclusive, timeout=timeout)
    except LockTimeout as error:
        raise FileRefusal("lock", str(error), [error.path]) from None
    if exclusive:
        sweep_file_stages(target)
    return held


def open_file_stage(target: str) -> StagedFile:
    """A new `.usr-tmp-<hex>-<name>` beside the target (same filesystem, so the rename is atomic)."""
    return StagedFile(
        os.path.dirname(target), TEMP_PREFIX + os.urandom(6).hex() + "-" + os.path.basename(target)
    )


def drop_file_stage(staged: StagedFile) -> None:
    staged.discard()
    if os.path.lexists(staged.path):
        os.unlink(staged.path)


def promote_file(staged_path: str, target: str, expect: str | None) -> None:
    """Compare-and-swap: replace `target` only while it still holds sha256 `expect` (None: absent)."""
    current = file_entry(target, digest=True, parquet=False)
    refuse_non_file(target, current)
    if current.get("sha256") != expect:
        raise FileRefusal("diverged", f"{quote(target)} changed while the transfer was planned", [target])
    if current["exists"]:
        os.chmod(staged_path, stat.S_IMODE(os.lstat(target).st_mode))
    os.replace(staged_path, target)
    fsync_dir(os.path.dirname(target))


def _as_reply(refusal: FileRefusal) -> dict:
    return {
        "ok": False,
        "family": refusal.family,
        "message": "remote " + refusal.message,
        "paths": refusal.paths,
    }


class FileOps:
    """Agent ops for file mode; the Agent supplies `send`, `read_exact`, `writer` and `locks`."""

    @property
    def file_stages(self) -> dict:
        return vars(self).setdefault("_file_stages", {})

    def op_file_stat(self, request: dict) -> dict:
        try:
            path = checked_file_path(request.get("path"))
            entry = file_entry(path, digest=bool(request.get("digest")), parquet=bool(request.get("parquet")))
        except FileRefusal as refusal:
            return _as_reply(refusal)
        entry["ok"] = True
        return entry

    def op_file_lock(self, request: dict) -> dict:
        try:
            path = checked_file_path(request.get("path"))
            key = file_lock_path(path)
            if key not in self.locks:
                exclusive = bool(request.get("exclusive"))
                self.locks[key] = [
                    lock_file_target(path, exclusive=exclusive, timeout=float(request["timeout"]))
                ]
        except FileRefusal as refusal:
            return _as_reply(refusal)
        return {"ok": True}

    def op_file_get(self, request: dict) -> dict | None:
        try:
            path = checked_file_path(request.get("path"))
            entry = file_entry(path, digest=False, parquet=False)
            if not entry["exists"]:
                raise FileRefusal("verify", f"{quote(path)} is missing", [path])
            refuse_non_file(path, entry)
        except FileRefusal as refusal:
            return _as_reply(refusal)
        with open(os.open(path, os.O_RDONLY | os.O_NOFOLLOW), "rb", buffering=0) as handle:
            size = os.fstat(handle.fileno()).st_size
            self.send({"ok": True, "size": size})
            remaining = size
            while remaining:
                block = handle.read(min(CHUNK, remaining)) or b"\0" * min(CHUNK, remaining)
                self.writer.write(block)
                remaining -= len(block)
            self.writer.flush()
        return None

    def op_file_put(self, request: dict) -> dict:
        size = int(request["size"])
        try:
            path = checked_file_path(request.get("path"))
            if file_lock_path(path) not in self.locks:
                raise FileRefusal("lock", f"put of {quote(path)} without holding its exclusive lock", [path])
            staged = open_file_stage(path)
        except (FileRefusal, OSError, ValueError) as error:
            for _ in self.read_exact(size):
                pass
            refusal = error if isinstance(error, FileRefusal) else FileRefusal("staging", str(error))
            return _as_reply(refusal)
        try:
            for block in self.read_exact(size):
                staged.write(block)
            digest = staged.close()
        except BaseException:
            drop_file_stage(staged)
            raise
        self.file_stages[path] = staged
        return {"ok": True, "size": staged.size, "sha256": digest}

    def op_file_promote(self, request: dict) -> dict:
        try:
            path = checked_file_path(request.get("path"))
            staged = self.file_stages.get(path)
            if staged is None or file_lock_path(path) not in self.locks:
                message = f"promotion of {quote(path)} needs its lock and a staged copy"
                raise FileRefusal("staging", message, [path])
            if sha256_nofollow(staged.path) != request["sha256"]:
                message = f"staged copy of {quote(path)} does not match the local file"
                raise FileRefusal("verify", message, [path])
            promote_file(staged.path, path, request.get("expect"))
        except FileRefusal as refusal:
            return _as_reply(refusal)
        del self.file_stages[path]
        return {"ok": True}

    def op_file_abort(self, request: dict) -> dict:
        try:
            staged = self.file_stages.pop(checked_file_path(request.get("path")), None)
        except FileRefusal as refusal:
            return _as_reply(refusal)
        if staged is not None:
            drop_file_stage(staged)
        return {"ok": True}
