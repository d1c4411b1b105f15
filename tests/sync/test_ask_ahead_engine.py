"""Each command's first remote manifest is asked ahead, while the laptop scans, and its answer used.

`sides.manifest_request_ahead` builds the request from the local side's names and log size
alone; these tests hold that it is the very request the command then asks (the answer is used,
no scan wasted), and that a local side changed in between gets a fresh scan, not a stale one.
"""

from __future__ import annotations

import pytest

from tests.usr_sides import DATASET, Sides
from usr_harness.mock.series import BatchSeries
from usr_harness.sync.inventory import sides as sides_module

from .conftest import run_engine as run

SERIES = BatchSeries(11, records_per_round=40)


def asked_ahead(audit: dict) -> dict[str, int]:
    return audit["timings"]["asked_ahead"]


@pytest.mark.parametrize(("first", "plans"), [("diff", 1), ("pull", 2)])
def test_a_bootstrap_uses_the_answer_asked_ahead(disk_sides: Sides, first: str, plans: int) -> None:
    """A pull that moves files plans twice (again under its locks), and asks ahead both times."""
    SERIES.run(disk_sides.remote_root, DATASET, 2)
    assert asked_ahead(run(disk_sides, first)) == {"used": plans, "dropped": 0}


@pytest.mark.parametrize(("action", "state"), [("diff", "DIFF-ONLY"), ("pull", "NO-OP"), ("push", "NO-OP")])
def test_every_command_on_synced_sides_uses_the_answer_asked_ahead(
    disk_sides: Sides, action: str, state: str
) -> None:
    SERIES.run(disk_sides.remote_root, DATASET, 2)
    run(disk_sides, "pull")
    audit = run(disk_sides, action)
    assert audit["data"]["transfer_state"] == state
    assert asked_ahead(audit) == {"used": 1, "dropped": 0}


def test_a_pull_of_a_new_batch_uses_it_for_its_first_plan_and_its_re_plan(disk_sides: Sides) -> None:
    SERIES.run(disk_sides.remote_root, DATASET, 2)
    run(disk_sides, "pull")
    SERIES.apply_round(disk_sides.remote_root, DATASET, 2)
    audit = run(disk_sides, "pull")
    assert audit["data"]["transfer_state"] == "TRANSFERRED"
    assert asked_ahead(audit) == {"used": 2, "dropped": 0}


def test_a_local_side_that_changed_after_the_ask_gets_a_fresh_remote_scan(
    disk_sides: Sides, monkeypatch
) -> None:
    SERIES.run(disk_sides.remote_root, DATASET, 2)
    run(disk_sides, "pull")
    SERIES.apply_round(disk_sides.local_root, DATASET, 2)  # the laptop's log grows after the ask was built

    def log_size_before_the_change(folder: str) -> int | None:
        size = real_log_size(folder)
        return None if size is None else size - 1

    real_log_size = sides_module.local_log_size
    monkeypatch.setattr(sides_module, "local_log_size", log_size_before_the_change)
    before = disk_sides.fingerprints()
    audit = run(disk_sides, "diff")
    assert disk_sides.fingerprints() == before
    assert asked_ahead(audit) == {"used": 0, "dropped": 1}
    events = audit["data"][".events.log"]
    assert events["changed"]  # judged on a remote scan asked for after the laptop's change
    assert events["local"]["lines"] > events["remote"]["lines"]


def test_a_pull_whose_guess_was_off_moves_the_batch_on_a_fresh_scan(disk_sides: Sides, monkeypatch) -> None:
    SERIES.run(disk_sides.remote_root, DATASET, 2)
    run(disk_sides, "pull")
    SERIES.apply_round(disk_sides.remote_root, DATASET, 2)
    real_names = sides_module.local_names
    guessed = lambda folder: real_names(folder) | {"_artifacts/gone-before-the-scan.txt"}  # noqa: E731
    monkeypatch.setattr(sides_module, "local_names", guessed)
    audit = run(disk_sides, "pull")
    assert audit["data"]["transfer_state"] == "TRANSFERRED"
    assert asked_ahead(audit) == {"used": 1, "dropped": 1}  # the re-plan asks from the plan's own scan
    disk_sides.assert_equal_trees()
