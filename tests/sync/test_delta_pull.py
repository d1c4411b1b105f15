"""A pull rebuilds a rewritten file over the laptop's old copy, and still proves it whole.

The size floor (`DELTA_MIN_BYTES`, 1 MiB) is lowered to 0 here, so the small test datasets walk
the same path a 1 GiB primary does; the chunk sizes stay as shipped, since the agent has its own copy.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.usr_sides import DATASET, Sides
from usr_harness.errors import VerifyError
from usr_harness.mock.series import BatchSeries
from usr_harness.sync.move import basis, pull

from .conftest import run_engine as run

SERIES = BatchSeries(5, records_per_round=3000)


@pytest.fixture
def every_old_copy(monkeypatch) -> None:
    monkeypatch.setattr(pull, "DELTA_MIN_BYTES", 0)


def synced_then_a_batch(sides: Sides) -> None:
    SERIES.run(sides.remote_root, DATASET, 2)
    run(sides, "pull")
    SERIES.apply_round(sides.remote_root, DATASET, 2)


@pytest.mark.usefixtures("every_old_copy")
def test_a_pull_after_a_batch_sends_only_what_the_old_copies_lack(disk_sides: Sides) -> None:
    synced_then_a_batch(disk_sides)
    audit = run(disk_sides, "pull")
    assert audit["data"]["transfer_state"] == "TRANSFERRED"
    delta = audit["timings"]["delta"]
    assert delta["files"] >= 1
    assert delta["reused"] > 0 and delta["sent"] > 0
    disk_sides.assert_equal_trees()
    assert run(disk_sides, "pull")["data"]["transfer_state"] == "NO-OP"


def test_small_files_go_whole(disk_sides: Sides) -> None:
    synced_then_a_batch(disk_sides)
    audit = run(disk_sides, "pull")
    assert audit["timings"]["delta"] == {"files": 0, "reused": 0, "sent": 0}
    disk_sides.assert_equal_trees()


@pytest.mark.usefixtures("every_old_copy")
def test_an_old_copy_changed_under_the_pull_is_refused_and_nothing_is_promoted(
    disk_sides: Sides, monkeypatch
) -> None:
    synced_then_a_batch(disk_sides)
    real_bases = pull.PullAhead.bases
    rewritten: list[Path] = []

    def named_then_rewritten(self: pull.PullAhead, *args) -> dict:
        found = real_bases(self, *args)
        for old_copy in found.values():  # another writer, after the chunks were named
            old_copy.path.write_bytes(old_copy.path.read_bytes()[::-1])
            rewritten.append(old_copy.path)
        return found

    monkeypatch.setattr(pull.PullAhead, "bases", named_then_rewritten)
    before = disk_sides.fingerprints()
    with pytest.raises(VerifyError, match="changed while it was being pulled over"):
        run(disk_sides, "pull")
    monkeypatch.undo()
    for path in rewritten:
        path.write_bytes(path.read_bytes()[::-1])  # the other writer's change taken back
    assert rewritten
    assert disk_sides.fingerprints() == before
    assert not list(disk_sides.local_root.glob(f".{DATASET}.usr-stage-*"))
    run(disk_sides, "pull")
    disk_sides.assert_equal_trees()


@pytest.mark.usefixtures("every_old_copy")
def test_an_old_copy_touched_after_it_was_named_ahead_is_named_again(disk_sides: Sides, monkeypatch) -> None:
    synced_then_a_batch(disk_sides)
    named: list[str] = []

    class CountedBasis(basis.BasisFile):
        def __init__(self, rel: str, path: Path) -> None:
            super().__init__(rel, path)
            named.append(rel)

    real_init = pull.PullAhead.__init__

    def named_then_touched(self: pull.PullAhead, state, plan) -> None:
        real_init(self, state, plan)
        for future in self._named.values():
            os.utime(future.result().path)  # same bytes, a new stat

    monkeypatch.setattr(pull, "BasisFile", CountedBasis)
    monkeypatch.setattr(pull.PullAhead, "__init__", named_then_touched)
    audit = run(disk_sides, "pull")
    assert audit["data"]["transfer_state"] == "TRANSFERRED"
    assert audit["timings"]["delta"]["reused"] > 0
    assert "records.parquet" in named
    assert len(named) == 2 * len(set(named))
    disk_sides.assert_equal_trees()
