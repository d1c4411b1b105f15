"""A dataset left mid-promotion: mutations complete the journal first, other writers and validate refuse."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dataset.helpers import densegen_part
from usr_harness.dataset import Dataset
from usr_harness.dataset.context import seeded_context
from usr_harness.dataset.events import append_event
from usr_harness.dataset.journal import journal_pending, write_journal
from usr_harness.errors import StagingError
from usr_harness.report.fingerprint import compare, fingerprint_tree
from usr_harness.sync.commit import promotion


def leave_mid_promotion(dataset: Dataset) -> bytes:
    """Commit a journal installing a longer event log (as a pushed batch would); crash before applying it."""
    log = (dataset.path / ".events.log").read_bytes()
    first = log.splitlines(keepends=True)[0]
    pushed = log + first
    stage = promotion.new_stage(str(dataset.path))
    staged = promotion.StagedFile(stage, ".events.log")
    staged.write(pushed)
    staged.close()
    write_journal(str(dataset.path), stage, [".events.log"], [])
    return pushed


def test_a_mutation_completes_the_pending_promotion_before_it_writes(dataset: Dataset, ids: list[str]):
    pushed = leave_mid_promotion(dataset)
    dataset.attach(densegen_part(ids), namespace="densegen")
    log = (dataset.path / ".events.log").read_bytes()
    assert log.startswith(pushed), "the promoted log is kept and the attach's line follows it"
    assert dataset.events_tail(1)[-1]["action"] == "attach"
    assert not journal_pending(str(dataset.path)) and not promotion.stages_of(str(dataset.path))


def test_a_mutation_refuses_when_the_torn_dataset_was_written_behind_the_journal(
    dataset: Dataset, ids: list[str], tmp_path: Path
):
    leave_mid_promotion(dataset)
    with (dataset.path / ".events.log").open("ab") as handle:
        handle.write(b'{"written by": "a tool that does not know the journal"}\n')
    before = fingerprint_tree(tmp_path)
    with pytest.raises(StagingError, match=r"was not applied: '\.events\.log' changed"):
        dataset.attach(densegen_part(ids), namespace="densegen")
    assert compare(before, fingerprint_tree(tmp_path)).is_empty


def test_an_event_append_outside_a_mutation_refuses_a_torn_dataset(dataset: Dataset, tmp_path: Path):
    leave_mid_promotion(dataset)
    before = fingerprint_tree(tmp_path)
    with pytest.raises(StagingError, match="mid-promotion"):
        append_event(dataset.path, "note", dataset_id=dataset.id, root=dataset.root, ctx=seeded_context(3))
    assert compare(before, fingerprint_tree(tmp_path)).is_empty


def test_validate_reports_a_torn_dataset_and_recover_completes_it(dataset: Dataset, tmp_path: Path):
    pushed = leave_mid_promotion(dataset)
    before = fingerprint_tree(tmp_path)
    with pytest.raises(StagingError, match=r"mid-promotion.*usr recover demo"):
        dataset.validate()
    assert compare(before, fingerprint_tree(tmp_path)).is_empty
    assert dataset.recover() is True
    assert (dataset.path / ".events.log").read_bytes() == pushed
    dataset.validate(strict=True)
    assert dataset.recover() is False
