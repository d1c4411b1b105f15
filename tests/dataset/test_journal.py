"""The promotion journal refuses, having moved nothing, when bytes changed after it was written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from usr_harness.dataset import journal
from usr_harness.report.fingerprint import compare, fingerprint_tree
from usr_harness.sync.commit import promotion

INSTALL = ["records.parquet", "_derived/ns/part-2.parquet"]
DELETE = ["_derived/ns/part-1.parquet"]


def torn(root: Path) -> tuple[Path, str]:
    """A dataset whose promotion journal is committed but not applied (a crash right after it)."""
    folder = root / "demo"
    (folder / "_derived" / "ns").mkdir(parents=True)
    (folder / "records.parquet").write_bytes(b"old")
    (folder / ".events.log").write_bytes(b"line-1\n")
    (folder / "_derived" / "ns" / "part-1.parquet").write_bytes(b"gone-soon")
    stage = promotion.new_stage(str(folder))
    for rel, body in {"records.parquet": b"new", "_derived/ns/part-2.parquet": b"p2"}.items():
        staged = promotion.StagedFile(stage, rel)
        staged.write(body)
        staged.close()
    journal.write_journal(str(folder), stage, INSTALL, DELETE)
    return folder, stage


def both(root: Path):
    return fingerprint_tree(root)


def test_a_pending_journal_rolls_forward_when_nothing_changed(tmp_path: Path):
    folder, _ = torn(tmp_path)
    journal.apply_journal(str(folder))
    assert (folder / "records.parquet").read_bytes() == b"new"
    assert (folder / "_derived/ns/part-2.parquet").read_bytes() == b"p2"
    assert not (folder / "_derived/ns/part-1.parquet").exists()
    assert not journal.journal_pending(str(folder)) and not promotion.stages_of(str(folder))


@pytest.mark.parametrize(
    "later_write",
    [
        pytest.param(
            lambda f: f.joinpath("records.parquet").write_bytes(b"written after"), id="replaced-target"
        ),
        pytest.param(
            lambda f: f.joinpath("_derived/ns/part-1.parquet").write_bytes(b"kept!"), id="deleted-target"
        ),
        pytest.param(
            lambda f: f.joinpath("_derived/ns/part-2.parquet").write_bytes(b"new part"), id="new-target"
        ),
    ],
)
def test_a_file_written_after_the_journal_is_never_overwritten(tmp_path: Path, later_write):
    folder, _ = torn(tmp_path)
    later_write(folder)
    before = both(tmp_path)
    with pytest.raises(journal.JournalConflict, match="after it was written"):
        journal.apply_journal(str(folder))
    assert compare(before, both(tmp_path)).is_empty
    assert journal.journal_pending(str(folder))


def test_a_file_installed_by_a_half_applied_journal_and_changed_since_stops_the_rest(tmp_path: Path):
    folder, _ = torn(tmp_path)

    def crash() -> None:
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        journal.apply_journal(str(folder), on_step=crash)
    assert (folder / "records.parquet").read_bytes() == b"new"
    with (folder / "records.parquet").open("ab") as handle:
        handle.write(b" and more")
    before = both(tmp_path)
    with pytest.raises(journal.JournalConflict, match="installed and then changed"):
        journal.apply_journal(str(folder))
    assert compare(before, both(tmp_path)).is_empty


def test_a_half_applied_journal_completes_when_nothing_changed(tmp_path: Path):
    folder, _ = torn(tmp_path)
    with pytest.raises(RuntimeError):
        journal.apply_journal(str(folder), on_step=lambda: (_ for _ in ()).throw(RuntimeError("killed")))
    journal.apply_journal(str(folder))
    assert (folder / "_derived/ns/part-2.parquet").read_bytes() == b"p2"
    assert not journal.journal_pending(str(folder))


def test_a_version_1_journal_without_stats_still_rolls_forward(tmp_path: Path):
    folder, _ = torn(tmp_path)
    path = Path(journal.journal_path(str(folder)))
    body = json.loads(path.read_text())
    path.write_text(
        json.dumps({key: body[key] for key in ("dataset", "stage", "install", "delete")} | {"version": 1})
    )
    journal.apply_journal(str(folder))
    assert (folder / "records.parquet").read_bytes() == b"new"
