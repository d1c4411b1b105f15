"""Compare two manifests section by section (pure): what differs, and how it was compared."""

from __future__ import annotations

from dataclasses import dataclass, field

from usr_harness.dataset.layout import SNAPSHOT_NAME
from usr_harness.sync.inventory.manifest import FileEntry, Manifest
from usr_harness.sync.options import SyncOptions

FILE_SECTIONS = ("primary", "meta", "snapshots", "derived", "auxiliary")


def same_content(
    a: FileEntry, b: FileEntry, mode: str, stats: tuple[dict | None, dict | None] = (None, None)
) -> bool:
    """Whether two entries hold the same content as far as `mode` can tell.

    A hash still pending never proves sameness: a file is only ever deferred when the
    other side lacks it, so reaching here with one is a bug that must not pass as equal.
    """
    if a.kind != b.kind or a.link != b.link or a.hash_pending or b.hash_pending:
        return False
    if a.kind != "file":
        return True
    if mode == "parquet":
        left, right = stats
        if left and right and "error" not in left and "error" not in right:
            return left == right
        mode = "size"
    if mode in ("hash", "auto") and a.sha256 and b.sha256:
        return a.sha256 == b.sha256 and a.size == b.size
    return a.size == b.size


@dataclass
class SectionDiff:
    name: str
    local_only: list[str] = field(default_factory=list)
    remote_only: list[str] = field(default_factory=list)
    content: list[str] = field(default_factory=list)
    local_count: int = 0
    remote_count: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.local_only or self.remote_only or self.content)


@dataclass
class DiffResult:
    sections: dict[str, SectionDiff]
    events_changed: bool
    primary_mode: str
    warnings: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.events_changed or any(s.changed for s in self.sections.values())


def resolve_primary_mode(local: Manifest, remote: Manifest, opts: SyncOptions) -> tuple[str, list[str]]:
    """`auto` picks hash, else size, else parquet, each fallback with a WARNING."""
    if opts.verify != "auto":
        return opts.verify, []
    lp, rp = local.primary, remote.primary
    if lp is None or rp is None or (lp.sha256 and rp.sha256):
        return "hash", []
    if lp.size is not None and rp.size is not None:
        return "size", ["WARNING: --verify auto fell back from hash to size for records.parquet"]
    return "parquet", ["WARNING: --verify auto fell back from hash to parquet rows/cols for records.parquet"]


def diff_manifests(local: Manifest, remote: Manifest, opts: SyncOptions) -> DiffResult:
    primary_mode, warnings = resolve_primary_mode(local, remote, opts)
    stats = (local.primary_stats, remote.primary_stats)
    sections = {}
    for name in FILE_SECTIONS:
        mine, theirs = local.section(name), remote.section(name)
        mode = primary_mode if name == "primary" else opts.compare_mode(name)
        diff = SectionDiff(name, local_count=len(mine), remote_count=len(theirs))
        diff.local_only = sorted(set(mine) - set(theirs))
        diff.remote_only = sorted(set(theirs) - set(mine))
        diff.content = sorted(
            path
            for path in set(mine) & set(theirs)
            if not same_content(mine[path], theirs[path], mode, stats)
        )
        sections[name] = diff
    events_changed = _events_key(local) != _events_key(remote)
    return DiffResult(sections, events_changed, primary_mode, warnings)


def _events_key(manifest: Manifest) -> tuple | None:
    entry = manifest.events_entry
    if entry is None:
        return None
    return (entry.kind, entry.size, entry.sha256)


def newer_snapshots(local: Manifest, remote: Manifest) -> int:
    """Remote snapshots stamped after the newest local one."""

    def stamps(manifest: Manifest) -> list[str]:
        found = []
        for path in manifest.section("snapshots"):
            match = SNAPSHOT_NAME.match(path.rsplit("/", 1)[-1])
            if match:
                found.append(match.group(1))
        return found

    newest_local = max(stamps(local), default="")
    return sum(1 for stamp in stamps(remote) if stamp > newest_local)
