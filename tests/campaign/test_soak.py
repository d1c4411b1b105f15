"""Soak verdicts: a fail (or a verdict off its golden one) is a false alarm; an unjudged drill is counted."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from tests.cli_runs import run_harness
from tests.report.conftest import SAMPLE_LINES, SETTINGS, make_run
from usr_harness.campaign.soak import CycleOutcome, false_alarms, soak_summary
from usr_harness.report.build import write_run_files
from usr_harness.report.model import DrillEntry, Report

LOCKS = "drills/test_locks.py::test_busy"
MATRIX = "drills/test_corruption_matrix.py::test_case[meta]"


def drill(nodeid: str, verdict: str, why: str = "") -> DrillEntry:
    evidence = {"failure": why} if verdict == "fail" else ({"unknown_because": why} if why else {})
    return DrillEntry(nodeid, verdict, 1, 0.5, evidence, {}, {}, reproduce=f"pytest {nodeid}")


def report(seed: int, *drills: DrillEntry) -> Report:
    return Report(f"run-{seed}", "now", seed, None, "small", "/r", {}, tuple(drills), ())


def test_fails_alarm_unjudged_drills_are_counted_and_a_silent_cycle_alarms() -> None:
    outcomes = [
        CycleOutcome(1, report(1, drill(LOCKS, "pass"), drill(MATRIX, "unknown", "blind spot")), 0, 3.0),
        CycleOutcome(
            2, report(2, drill(LOCKS, "fail", "lock held"), drill(MATRIX, "unknown", "blind spot")), 1, 3.0
        ),
        CycleOutcome(3, None, 4, 0.5),
    ]
    alarms = false_alarms(outcomes)
    assert [(a.seed, a.nodeid, a.verdict, a.why) for a in alarms] == [
        (2, LOCKS, "fail", "lock held"),
        (3, "(whole cycle)", "none", "the cycle wrote no report (pytest exited 4)"),
    ]
    assert alarms[0].reproduce == f"pytest {LOCKS}"
    summary = soak_summary(outcomes, alarms, lanes=2)
    assert summary["false_alarm_count"] == 2 and summary["drill_runs"] == 4 and summary["seeds"] == [1, 2, 3]
    assert summary["unjudged"] == {MATRIX: 2} and summary["cycle_runs"][2]["run_id"] is None


def test_a_golden_file_sets_what_each_drill_should_get() -> None:
    outcome = CycleOutcome(5, report(5, drill(LOCKS, "pass"), drill(MATRIX, "unknown", "blind spot")), 0, 1.0)
    assert false_alarms([outcome], {MATRIX: "unknown"}) == []
    alarms = false_alarms([outcome], {LOCKS: "fail", MATRIX: "unknown"})
    assert [(a.nodeid, a.verdict, a.expected) for a in alarms] == [(LOCKS, "pass", "fail")]
    moved = dataclasses.replace(outcome, report=report(5, drill(MATRIX, "pass")))
    assert [a.expected for a in false_alarms([moved], {MATRIX: "unknown"})] == ["unknown"]


def test_report_soak_judges_cycles_run_elsewhere(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cycle = make_run(tmp_path / "seed-7", SAMPLE_LINES)
    write_run_files(cycle, SETTINGS)
    record = tmp_path / "soak.json"
    code, out, err = run_harness(capsys, "report", "soak", str(cycle), "--out", str(record))
    assert code == 1, err
    assert "FALSE ALARM seed 7 drills/test_locks.py::test_busy_dataset[local]: fail (expected pass)" in out
    assert "soak: 1 cycles, 6 drill runs, 2 false alarm(s), 2 unjudged" in out
    assert json.loads(record.read_text())["false_alarm_count"] == 2

    golden = tmp_path / "golden.json"
    assert (
        run_harness(capsys, "report", "golden", str(cycle), "--out", str(golden), "--engine-version", "t")[0]
        == 0
    )
    code, out, err = run_harness(capsys, "report", "soak", str(cycle), "--golden", str(golden))
    assert code == 0, err
    assert "0 false alarm(s)" in out
