"""One dataset command's run: what it has learned so far, enough to write an honest audit at any failure."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from usr_harness.sync.inventory.hash_cache import HashCache
from usr_harness.sync.inventory.hash_store import HashStore
from usr_harness.sync.inventory.manifest import Manifest
from usr_harness.sync.plan.diff import DiffResult
from usr_harness.sync.record.audit import AuditRecord, build_audit
from usr_harness.sync.request import SyncRequest
from usr_harness.sync.timings import Timings
from usr_harness.sync.transport import Stats


@dataclass
class SyncRun:
    """What one command learned so far: enough to write an honest audit at any failure."""

    action: str
    request: SyncRequest
    local: Manifest | None = None
    remote: Manifest | None = None
    diff: DiffResult | None = None
    record: AuditRecord = field(default_factory=AuditRecord)
    finished: bool = False
    local_inventory: dict | None = None
    """The first local inventory, taken while the connection is being made; used once."""
    hashes: HashCache = field(default_factory=HashCache)
    store: HashStore | None = None
    """The local hashes earlier commands persisted (`ROOT/.usr-sync/hashes/`)."""
    base: dict[str, dict] | None = None
    """The last sync's base as this command's latest plan loaded it."""
    remote_cache: dict | None = None
    """The remote cache's state and counters, from the agent's last manifest reply."""
    timings: Timings = field(default_factory=Timings)
    channel: Stats | None = None
    """The agent channel's counters and the agent's own seconds, once it connected."""

    @property
    def local_dir(self) -> Path:
        return self.request.root / self.request.dataset

    def audit(self, state: str) -> dict:
        """The audit; the hash caches' counters sit beside `data`, which stays a function of the state."""
        audit = build_audit(
            action=self.action,
            transfer_state=state,
            dataset=self.request.dataset,
            remote=self.request.remote,
            opts=self.request.opts,
            local=self.local,
            remote_manifest=self.remote,
            diff=self.diff,
            record=self.record,
        )
        if self.store is not None:
            local = {**self.store.report(), "reads": self.hashes.reads}
            audit["hash_cache"] = {"local": local, "remote": self.remote_cache}
        audit["timings"] = self.timings_block()
        return audit

    def timings_block(self) -> dict:
        """Seconds per phase so far, with each side's hashing and cache hits."""
        hashes = self.hashes
        local = {"files": hashes.reads, "bytes": hashes.bytes_read, "seconds": round(hashes.read_seconds, 4)}
        if self.store is not None:
            local["cache_hits"] = self.store.hits
        block = self.timings.report(self.channel, local)
        remote = block["hashing"]["remote"]
        if remote is not None and self.remote_cache:
            remote["cache_hits"] = self.remote_cache.get("hits")
        return block
