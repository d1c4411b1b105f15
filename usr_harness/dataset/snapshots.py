"""Snapshots of the primary file: `_snapshots/records-<stamp>.parquet`, newest five kept.

A snapshot is a byte copy of `records.parquet` (same checksums, same metadata), so
restoring one is a plain copy and a sync can compare it by hash.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from usr_harness.dataset.fsio import file_kind
from usr_harness.dataset.layout import SNAPSHOT_NAME, SNAPSHOTS_DIR
from usr_harness.dataset.stamps import file_stamp

KEEP_SNAPSHOTS = 5


def snapshot_name(moment: datetime) -> str:
    return f"records-{file_stamp(moment)}.parquet"


def list_snapshots(dataset_dir: Path) -> list[Path]:
    """Well-named snapshots, oldest first (the stamp sorts as the time it names)."""
    folder = Path(dataset_dir) / SNAPSHOTS_DIR
    if not folder.is_dir():
        return []
    return sorted(
        path for path in folder.iterdir() if SNAPSHOT_NAME.fullmatch(path.name) and file_kind(path) == "file"
    )


def surplus_snapshots(dataset_dir: Path, keep: int = KEEP_SNAPSHOTS) -> list[Path]:
    """The snapshots beyond the newest `keep`, oldest first: what pruning removes."""
    found = list_snapshots(dataset_dir)
    return found[: max(len(found) - keep, 0)]
