"""One file-mode command's state: each side's file as a stat reported it, and what the audit needs.

Its own module, below `file_mode` (the order of steps) and `file_moves` (the bytes), which both
read it, so neither imports the other back.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from usr_harness.dataset.layout import RECORDS_FILE
from usr_harness.errors import FAMILY_BY_NAME, StagingError
from usr_harness.sync.inventory.manifest import Manifest
from usr_harness.sync.plan.diff import DiffResult
from usr_harness.sync.record.audit import AuditRecord, build_file_audit
from usr_harness.sync.remote.far.file_agent import FileRefusal
from usr_harness.sync.request import FileRequest


@dataclass(frozen=True)
class FileSide:
    """One side's file as a stat reported it."""

    exists: bool
    size: int = 0
    sha256: str | None = None
    parquet: dict | None = None

    @classmethod
    def of(cls, entry: dict) -> FileSide:
        if not entry.get("exists"):
            return cls(False)
        return cls(True, entry["size"], entry.get("sha256"), entry.get("parquet"))

    def manifest(self, side: str) -> Manifest:
        """The one-entry manifest the shared diff, plan and audit read: the file in the primary's place."""
        if not self.exists:
            return Manifest(side, False)
        entry = {"path": RECORDS_FILE, "section": "primary", "kind": "file", "size": self.size}
        scan = {"exists": True, "files": [{**entry, "sha256": self.sha256}], "primary": self.parquet}
        return Manifest.from_scan(side, scan)


@dataclass
class FileRun:
    """What one command learned so far: enough to write an honest audit at any failure."""

    action: str
    request: FileRequest
    remote_path: str | None = None
    local: FileSide | None = None
    remote: FileSide | None = None
    diff: DiffResult | None = None
    warnings: list[str] = field(default_factory=list)
    record: AuditRecord = field(default_factory=AuditRecord)

    @property
    def target(self) -> str:
        return str(self.request.local)

    def manifests(self) -> tuple[Manifest, Manifest] | tuple[None, None]:
        if self.local is None or self.remote is None:
            return None, None
        return self.local.manifest("local"), self.remote.manifest("remote")

    def audit(self, transfer_state: str) -> dict:
        local, remote = self.manifests()
        return build_file_audit(
            action=self.action,
            transfer_state=transfer_state,
            target=self.target,
            remote=self.request.remote,
            remote_path=self.remote_path,
            verify=self.request.opts.verify,
            local=local,
            remote_manifest=remote,
            diff=self.diff,
            warnings=self.warnings,
            record=self.record,
        )


@contextlib.contextmanager
def local_side() -> Iterator[None]:
    """The shared file functions refuse with a family name; locally that becomes the UsrError family."""
    try:
        yield
    except FileRefusal as refusal:
        family = FAMILY_BY_NAME[refusal.family]
        raise family(f"local {refusal.message}", paths=refusal.paths, side="local") from None
    except OSError as error:
        raise StagingError(f"local {error}", side="local") from None
