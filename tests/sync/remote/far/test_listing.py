"""The remote's dataset ids (`datasets` op): flat and one namespace deep, only folders with records."""

from __future__ import annotations

from pathlib import Path

from usr_harness.sync.remote.far.listing import dataset_ids


def test_ids_are_folders_holding_records_flat_or_one_namespace_deep(tmp_path: Path) -> None:
    for folder in ("demo", "lab/one", "lab/two", "_registry/x", ".usr-sync/y", "empty", "lab/nodata"):
        (tmp_path / folder).mkdir(parents=True)
    for dataset in ("demo", "lab/one", "lab/two", "_registry/x", ".usr-sync/y"):
        (tmp_path / dataset / "records.parquet").write_bytes(b"")
    (tmp_path / "linked").symlink_to(tmp_path / "demo")
    (tmp_path / "notes.txt").write_text("not a dataset")
    assert dataset_ids(str(tmp_path)) == (["demo", "lab/one", "lab/two"], 3)


def test_a_missing_base_dir_holds_no_ids(tmp_path: Path) -> None:
    assert dataset_ids(str(tmp_path / "gone")) == ([], 0)
