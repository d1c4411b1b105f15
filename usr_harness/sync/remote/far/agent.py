"""The remote agent: one stdlib-only program the engine sends over an SSH exec channel.

It speaks versioned JSON lines on stdin/stdout; file bytes travel raw right
after the header that announces their size, so one channel carries a whole
command (manifest, locks, staging, promotion) with no extra connection. Locks
it takes live as long as the channel. Bundled with layout, scan, flock and
promotion by `near/bundle.py`; python >= 3.8 on the remote is enough.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time

from usr_harness.dataset.flock import LockTimeout, acquire, acquire_dataset, release_all
from usr_harness.dataset.journal import JournalConflict
from usr_harness.dataset.layout import check_dataset_id, check_relpath
from usr_harness.dataset.quoting import quote
from usr_harness.sync.commit.promotion import needs_recovery, recover
from usr_harness.sync.inventory.hash_cache import CHUNK, HashCache
from usr_harness.sync.inventory.hash_store import HashStore, cache_report, store_path
from usr_harness.sync.inventory.scan import ROW_FIELDS, add_site_packages, as_rows, scan_dataset
from usr_harness.sync.move.space import (
    is_disk_full,
)
from usr_harness.sync.remote.far.file_agent import FileOps
from usr_harness.sync.remote.far.listing import ListingOps
from usr_harness.sync.remote.far.pipes import widen_standard_streams
from usr_harness.sync.remote.far.protocol import PROTOCOL_VERSION, AgentFailure
from usr_harness.sync.remote.far.staging_ops import StagingOps
from usr_harness.sync.timings import agent_timing, process_age


class Agent(StagingOps, FileOps, ListingOps):
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
            begun = time.perf_counter()
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
                reply["timing"] = agent_timing(str(op), time.perf_counter() - begun, self.hashes)
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
            "host": os.uname().nodename,
            "pid": os.getpid(),
            "time_ns": time.time_ns(),
            "age": process_age(),
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
        if request.get("rows"):
            manifest["files"] = as_rows(manifest["files"])
            manifest["row_fields"] = ROW_FIELDS
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


def _installed_version(name: str) -> str | None:
    """The package's version in the remote interpreter's site-packages (`add_site_packages`)."""
    try:
        add_site_packages()
        from importlib import metadata

        return metadata.version(name)
    except Exception:
        return None


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
