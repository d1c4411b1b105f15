"""Snapshots: byte copies of records.parquet under `_snapshots/`, newest five kept, each logged."""

from __future__ import annotations

from pathlib import Path

from tests.dataset.helpers import make_rows
from usr_harness.dataset import Dataset
from usr_harness.dataset.layout import SNAPSHOT_NAME
from usr_harness.dataset.snapshots import KEEP_SNAPSHOTS, list_snapshots


def test_snapshot_copies_the_primary_bytes(dataset: Dataset) -> None:
    path = dataset.snapshot()
    assert path.parent == dataset.path / "_snapshots" and SNAPSHOT_NAME.fullmatch(path.name)
    assert path.read_bytes() == dataset.records_path.read_bytes()
    event = dataset.events_tail(1)[0]
    assert event["action"] == "snapshot" and event["artifacts"] == [f"_snapshots/{path.name}"]
    assert event["maintenance"] == {"pruned": []}
    dataset.validate(strict=True)


def test_only_the_newest_five_are_kept(dataset: Dataset) -> None:
    taken = []
    for round_no in range(KEEP_SNAPSHOTS + 2):
        dataset.import_rows(make_rows(1, seed=100 + round_no))
        taken.append(dataset.snapshot())
    assert list_snapshots(dataset.path) == taken[-KEEP_SNAPSHOTS:]
    assert dataset.events_tail(1)[0]["maintenance"] == {"pruned": [f"_snapshots/{taken[1].name}"]}
    assert dataset.info()["snapshots"] == KEEP_SNAPSHOTS
    dataset.validate(strict=True)


def test_list_ignores_strangers(tmp_path: Path) -> None:
    assert list_snapshots(tmp_path) == []
    (tmp_path / "_snapshots").mkdir()
    (tmp_path / "_snapshots" / "records-latest.parquet").write_bytes(b"")
    (tmp_path / "_snapshots" / "records-20260101T000000000000.parquet").write_bytes(b"")
    assert [p.name for p in list_snapshots(tmp_path)] == ["records-20260101T000000000000.parquet"]
