"""The remote agent: one stdlib-only program the engine sends over an SSH exec channel.

It speaks versioned JSON lines on stdin/stdout; file bytes travel raw right
after the header that announces their size, so one channel carries a whole
command (manifest, locks, staging, promotion) with no extra connection. Locks
it takes live as long as the channel. Bundled with layout, scan, flock and
promotion by `bundle.py`; python >= 3.8 on the remote is enough.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import socket
import sys
import tempfile
import time

from usr_harness.dataset.flock import LockTimeout, acquire, acquire_dataset, release_all
from usr_harness.dataset.journal import JournalConflict, apply_journal, journal_pending
from usr_harness.dataset.layout import EVENTS_FILE, check_dataset_id, check_relpath
from usr_harness.dataset.quoting import quote
from usr_harness.sync.commit.promotion import StagedFile, needs_recovery, new_stage, promote, recover
from usr_harness.sync.hooks import FaultInjected, fire
from usr_harness.sync.inventory.hash_cache import CHUNK, HashCache
from usr_harness.sync.inventory.hash_store import HashStore, cache_report, store_path
from usr_harness.sync.inventory.scan import scan_dataset, sha256_file
from usr_harness.sync.move.space import (
    bytes_needed,
    is_disk_full,
    preflight_message,
    shortfall,
    staging_message,
)
from usr_harness.sync.remote.far.file_agent import FileOps
from usr_harness.sync.remote.far.pipes import widen_standard_streams

PROTOCOL_VERSION = 1


class AgentFailure(Exception):
    def __init__(self, family: str, message: str, paths: list | None = None) -> None:
        super().__init__(message)
        self.family = family
        self.message = message
        self.paths = paths or []


class Agent(FileOps):
    def __init__(self, reader, writer) -> None:
        self.reader = reader
        self.writer = writer
        self.base_dir = None
        self.locks: dict[str, list] = {}
        self.stages: dict[str, str] = {}
        self.needed: dict[str, int] = {}
        self.created: set[str] = set()
        self.hashes = HashCache()
        self.stores: dict[str, HashStore] = {}

    def send(self, message: dict) -> None:
        self.writer.write(json.dumps(message, separators=(",", ":")).encode() + b"\n")
        self.writer.flush()

    def read_exact(self, size: int):
        remaining = size
        while remaining:
            block = self.reader.read(min(CHUNK, remaining))
            if not block:
                raise AgentFailure("transport", "input ended inside a file payload")
            remaining -= len(block)
            yield block

    def dataset_dir(self, dataset: str) -> str:
        if self.base_dir is None:
            raise AgentFailure("usage", "hello must come first")
        try:
            check_dataset_id(dataset)
        except ValueError as error:
            raise AgentFailure("usage", str(error)) from None
        return os.path.join(self.base_dir, dataset)

    def serve(self) -> None:
        while True:
            line = self.reader.readline()
            if not line:
                return
            request = json.loads(line)
            op = request.get("op")
            handler = getattr(self, "op_" + str(op), None)
            try:
                if handler is None:
                    raise AgentFailure("usage", f"unknown agent operation {op!r}")
                reply = handler(request)
            except AgentFailure as failure:
                reply = {"ok": False, "family": failure.family, "message": failure.message}
                reply["paths"] = failure.paths
            except JournalConflict as conflict:
                reply = {"ok": False, "family": "staging", "message": f"remote {conflict}"}
                reply["paths"] = [conflict.relpath]
            except OSError as error:
                what = "disk full" if is_disk_full(error) else "cannot write"
                reply = {"ok": False, "family": "staging", "message": f"remote: {what}: {error}"}
            if reply is not None:
                self.send(reply)
            if op == "bye":
                return

    def op_hello(self, request: dict) -> dict:
        base = os.path.expanduser(request["base_dir"])
        if not os.path.isdir(base):
            raise AgentFailure("config", f"remote base_dir {quote(base)} does not exist", [base])
        self.base_dir = os.path.realpath(base)
        return {
            "ok": True,
            "version": PROTOCOL_VERSION,
            "python": sys.version.split()[0],
            "pyarrow": _installed("pyarrow"),
            "blake3": _installed("blake3"),
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "time_ns": time.time_ns(),
            "base_dir": self.base_dir,
        }

    def op_manifest(self, request: dict) -> dict:
        folder = self.dataset_dir(request["dataset"])
        if needs_recovery(folder):
            self._recover_locked(folder, float(request.get("lock_timeout", 30.0)))
        known = request.get("background_hash_except")
        store = self._store(request["dataset"], bool(request.get("rehash")))
        manifest = scan_dataset(
            folder,
            hash_sections=request.get("hash_sections"),
            parquet=bool(request.get("parquet")),
            events_prefix=request.get("events_prefix"),
            events_base=request.get("events_base"),
            hashes=self.hashes,
            hash_later=None if known is None else _not_in(known),
            store=store,
        )
        manifest["hash_cache"] = {**store.report(), "reads": self.hashes.reads}
        manifest["ok"] = True
        return manifest

    def _store(self, dataset: str, rehash: bool) -> HashStore:
        """The remote cache of one dataset, under base_dir's own `.usr-sync/`, loaded once per channel."""
        if dataset not in self.stores:
            self.stores[dataset] = HashStore.load(store_path(self.base_dir, dataset), trust=not rehash)
        return self.stores[dataset]

    def save_stores(self) -> None:
        """Persist what this channel can vouch for; a base_dir where that fails keeps no cache."""
        for store in self.stores.values():
            with contextlib.suppress(OSError):
                store.save(self.hashes)

    def op_hashes(self, request: dict) -> dict:
        """The sha256 of files a manifest left pending: waits for the background hash, or reads again
        when the file changed since it started."""
        folder = self.dataset_dir(request["dataset"])
        found = {}
        for rel in request["paths"]:
            check_relpath(rel)
            path = os.path.join(folder, rel)
            if os.path.islink(path) or not os.path.isfile(path):
                raise AgentFailure("verify", f"remote {quote(rel)} is no longer a regular file", [rel])
            found[rel] = self.hashes.sha256(path)
        return {"ok": True, "sha256": found}

    def _recover_locked(self, folder: str, timeout: float) -> None:
        if folder in self.locks:
            recover(folder)
            return
        held = self._lock(folder, True, timeout)
        try:
            recover(folder)
        finally:
            release_all(held)

    def _lock(self, folder: str, exclusive: bool, timeout: float) -> list:
        os.makedirs(folder, exist_ok=True)
        try:
            return acquire_dataset(folder, exclusive=exclusive, timeout=timeout)
        except LockTimeout as error:
            raise AgentFailure("lock", f"remote {error}", [error.path]) from None

    def op_lock(self, request: dict) -> dict:
        folder = self.dataset_dir(request["dataset"])
        if folder in self.locks:
            return {"ok": True, "already": True}
        created = not os.path.isdir(folder)
        exclusive = bool(request.get("exclusive", True))
        self.locks[folder] = self._lock(folder, exclusive, request["timeout"])
        if created:
            self.created.add(folder)
        if exclusive and needs_recovery(folder):
            recover(folder)
        return {"ok": True, "created": created}

    def op_unlock(self, request: dict) -> dict:
        folder = self.dataset_dir(request["dataset"])
        held = self.locks.pop(folder, None)
        if held is not None:
            release_all(held)
        self._drop_if_empty(folder)
        return {"ok": True}

    def _drop_if_empty(self, folder: str) -> None:
        """Remove a folder this agent created for its locks when nothing else landed in it."""
        if folder not in self.created or folder in self.locks:
            return
        if os.path.isdir(folder) and not scan_dataset(folder, hash_sections=[])["files"]:
            shutil.rmtree(folder, ignore_errors=True)
        self.created.discard(folder)

    def op_get(self, request: dict) -> None:
        folder = self.dataset_dir(request["dataset"])
        footer_first = set(request.get("footer_first") or [])
        for rel in request["paths"]:
            check_relpath(rel)
            path = os.path.join(folder, rel)
            if os.path.islink(path) or not os.path.isfile(path):
                message = f"remote {quote(rel)} is not a regular file"
                self.send({"ok": False, "family": "verify", "message": message})
                continue
            with open(path, "rb", buffering=0) as handle:
                size = os.fstat(handle.fileno()).st_size
                footer = _parquet_footer(handle, size) if rel in footer_first else b""
                header = {"ok": True, "path": rel, "size": size}
                if footer:
                    header["footer"] = len(footer)
                self.send(header)
                self.writer.write(footer)
                handle.seek(0)
                remaining = size
                while remaining:
                    block = handle.read(min(CHUNK, remaining))
                    if not block:
                        block = b"\0" * remaining
                    self.writer.write(block)
                    remaining -= len(block)
        self.send({"ok": True, "done": True})
        return None

    def op_stage(self, request: dict) -> dict:
        """Open the push's stage once the files it announces (`sizes`) fit beside the dataset."""
        folder = self.dataset_dir(request["dataset"])
        if folder not in self.locks:
            raise AgentFailure("lock", "stage requested without holding the remote dataset lock")
        parent = os.path.dirname(folder)
        sizes = request.get("sizes") or []
        short = shortfall(parent, sizes)
        if short:
            where = "remote " + request["dataset"]
            raise AgentFailure("staging", preflight_message(where, parent, len(sizes), *short), [parent])
        stage = new_stage(folder)
        self.stages[folder] = stage
        self.needed[folder] = bytes_needed(parent, sizes)
        _fire(_fault_step(request.get("fault"), "after-preflight", stage))
        return {"ok": True, "stage": os.path.basename(stage)}

    def op_put(self, request: dict) -> dict:
        """Stage one file; a failed write still reads the file's bytes, so the next request is intact."""
        folder = self.dataset_dir(request["dataset"])
        stage = self.stages.get(folder)
        rel = request["path"]
        check_relpath(rel)
        blocks = self.read_exact(int(request["size"]))
        if stage is None:
            for _ in blocks:
                pass
            raise AgentFailure("staging", "no stage open for {}".format(request["dataset"]))
        try:
            staged = StagedFile(stage, rel, self.hashes)
        except OSError as error:
            for _ in blocks:
                pass
            raise self._write_failure(request["dataset"], folder, stage, rel, error) from None
        try:
            for block in blocks:
                staged.write(block)
        except OSError as error:
            staged.discard()
            for _ in blocks:
                pass
            raise self._write_failure(request["dataset"], folder, stage, rel, error) from None
        except BaseException:
            staged.discard()
            raise
        try:
            digest = staged.close()
        except OSError as error:
            raise self._write_failure(request["dataset"], folder, stage, rel, error) from None
        return {"ok": True, "path": rel, "size": staged.size, "sha256": digest}

    def _write_failure(self, dataset: str, folder: str, stage: str, rel: str, error: OSError) -> AgentFailure:
        message = staging_message("remote " + dataset, rel, stage, self.needed.get(folder), error)
        return AgentFailure("staging", message, [rel])

    def op_promote(self, request: dict) -> dict:
        folder = self.dataset_dir(request["dataset"])
        stage = self.stages.get(folder)
        if stage is None or folder not in self.locks:
            raise AgentFailure("staging", "promotion needs the lock and an open stage")
        self._check_targets(folder, request.get("expect", {}))
        self._check_staged(stage, request["install"])
        self._check_events(folder, stage, request.get("events"))
        install = [item["path"] for item in request["install"]]
        fault = _fault_step(request.get("fault"))
        promote(folder, stage, install, request.get("delete", []), fault, self.hashes)
        self.stages.pop(folder, None)
        return {"ok": True}

    def _check_targets(self, folder: str, expect: dict) -> None:
        """Refuse when a file the plan overwrites or deletes changed since the plan was made."""
        moved = []
        for rel, sha in expect.items():
            check_relpath(rel)
            path = os.path.join(folder, rel)
            present = os.path.lexists(path)
            if sha is None:
                if present:
                    moved.append(rel)
            elif not present or os.path.islink(path) or self.hashes.sha256(path) != sha:
                moved.append(rel)
        if moved:
            raise AgentFailure("diverged", "remote files changed while the push was planned", moved)

    def _check_staged(self, stage: str, install: list) -> None:
        bad = []
        for item in install:
            path = os.path.join(stage, item["path"])
            if not os.path.isfile(path) or os.path.islink(path) or self.hashes.sha256(path) != item["sha256"]:
                bad.append(item["path"])
        if bad:
            raise AgentFailure("verify", "staged files do not match the local manifest", bad)

    def _check_events(self, folder: str, stage: str, rule: dict | None) -> None:
        if not rule:
            return
        current = os.path.join(folder, EVENTS_FILE)
        staged = os.path.join(stage, EVENTS_FILE)
        if not os.path.exists(current) or not os.path.exists(staged):
            return
        size = os.path.getsize(current)
        if os.path.getsize(staged) < size or sha256_file(staged, size) != sha256_file(current):
            raise AgentFailure(
                "events", "remote .events.log is not a prefix of the pushed .events.log", [EVENTS_FILE]
            )

    def op_abort(self, request: dict) -> dict:
        self.discard_stage(self.dataset_dir(request["dataset"]))
        return {"ok": True}

    def discard_stage(self, folder: str) -> None:
        """Drop this channel's uncommitted stage; a committed promotion is rolled forward, never half undone.

        Only under the lock this channel holds: without it, a pending journal is another
        command's promotion in flight, and this channel never staged anything it names.
        """
        stage = self.stages.pop(folder, None)
        if folder in self.locks and journal_pending(folder):
            apply_journal(folder)
        elif stage:
            shutil.rmtree(stage, ignore_errors=True)

    def op_doctor(self, request: dict) -> dict:
        checks = {"base_dir": self.base_dir}
        probe = tempfile.mkdtemp(prefix=".usr-tmp-doctor-", dir=self.base_dir)
        try:
            with open(os.path.join(probe, "probe"), "wb") as handle:
                handle.write(b"usr")
                handle.flush()
                os.fsync(handle.fileno())
            checks["writable"] = True
            first = acquire(os.path.join(probe, ".usr.lock"), timeout=1.0)
            try:
                acquire(os.path.join(probe, ".usr.lock"), timeout=0.0)
                checks["locking"] = False
            except LockTimeout:
                checks["locking"] = True
            finally:
                first.release()
        finally:
            shutil.rmtree(probe, ignore_errors=True)
        checks["sha256"] = hashlib.sha256(b"").hexdigest().startswith("e3b0c442")
        checks["pyarrow"] = _installed_version("pyarrow")
        checks["hash_cache"] = cache_report(self.base_dir)
        checks["ok"] = True
        return checks

    def op_bye(self, request: dict) -> dict:
        self.save_stores()
        for folder, held in list(self.locks.items()):
            release_all(held)
            self.locks.pop(folder)
            self._drop_if_empty(folder)
        return {"ok": True}


def _not_in(known: list):
    """Files the client has no copy or base of: their hash can wait while they stream."""
    known = frozenset(known)
    return lambda rel: rel not in known


def _parquet_footer(handle, size: int) -> bytes:
    """The tail from the footer on (footer, its length, `PAR1`); b"" when it does not look like parquet."""
    if size < 12:
        return b""
    handle.seek(size - 8)
    trailer = handle.read(8)
    length = int.from_bytes(trailer[:4], "little")
    if trailer[4:] != b"PAR1" or length + 12 > size:
        return b""
    handle.seek(size - 8 - length)
    return handle.read(length + 8)


def _installed(name: str) -> bool:
    """Whether a package is importable, without importing it (pyarrow alone costs a third of a second)."""
    from importlib.util import find_spec

    return find_spec(name) is not None


def _installed_version(name: str) -> str | None:
    try:
        from importlib import metadata

        return metadata.version(name)
    except Exception:
        return None


def _fault_step(action: str | None, point: str = "mid-promotion", folder: str | None = None):
    """A drill can make the agent die, fail, stop or fill its disk at a fault point (a crash, a hang)."""
    if action not in ("kill", "stop", "raise", "fill") or (action == "fill" and folder is None):
        return None

    def step() -> None:
        try:
            fire(action, folder, point)
        except FaultInjected:
            raise AgentFailure("staging", f"fault point {point} fired on the remote") from None

    return step


def _fire(step) -> None:
    if step is not None:
        step()


def main() -> None:
    widen_standard_streams()
    agent = Agent(sys.stdin.buffer, sys.stdout.buffer)
    try:
        agent.serve()
    finally:
        agent.save_stores()
        for folder in list(agent.stages):
            agent.discard_stage(folder)
        for held in agent.locks.values():
            release_all(held)


if __name__ == "__main__":
    main()
