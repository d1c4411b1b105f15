"""Comparing runs and holding a run to golden verdicts: pure, from Report objects and files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from usr_harness.errors import UsageError
from usr_harness.report.compare import compare_verdicts, movement_summary, verdicts
from usr_harness.report.golden import Expectation, Golden, check_run, load_golden, refreshed
from usr_harness.report.model import DrillEntry, Report


def run_of(engine: str, **outcomes: str) -> Report:
    drills = tuple(
        DrillEntry(
            nodeid=f"drills/test_x.py::{name}",
            verdict=verdict,
            seed=1,
            duration_seconds=0.1,
            evidence={"failure": f"{name} broke"} if verdict == "fail" else {},
            evidence_files={},
            fingerprints={},
            engine=engine,
        )
        for name, verdict in outcomes.items()
    )
    return Report("r", "2026-12-03T00:00:00Z", 1, None, "small", "/x", {}, drills, ())


def test_compare_lists_both_sides_and_counts_each_kind_of_move() -> None:
    left = run_of("bundled", a="pass", b="pass", c="unknown")
    right = run_of("upstream", a="pass", b="fail", d="pass")
    rows = compare_verdicts(verdicts(left), verdicts(right))
    assert [(row.nodeid[-1], row.left, row.right) for row in rows] == [
        ("a", "pass", "pass"),
        ("b", "pass", "fail"),
        ("c", "unknown", "absent"),
        ("d", "absent", "pass"),
    ]
    assert movement_summary(rows) == {
        "same": 1,
        "moved": 3,
        "pass->fail": 1,
        "unknown->absent": 1,
        "absent->pass": 1,
    }
    assert right.by_engine == {"upstream": {"total": 3, "pass": 2, "fail": 1, "unsupported": 0, "unknown": 0}}


def test_check_names_moved_drills_and_drills_the_golden_does_not_know() -> None:
    golden = Golden(
        "upstream",
        "abc",
        {
            "drills/test_x.py::a": Expectation("fail", "defect", "pull deletes local parts"),
            "drills/test_x.py::b": Expectation("pass", "right", "refuses"),
            "drills/test_x.py::z": Expectation("pass", "right", "not in this lane"),
        },
    )
    run = run_of("upstream", a="pass", b="pass", c="unknown")
    moved = check_run(golden, run)
    assert [(row.nodeid[-1], row.left, row.right) for row in moved] == [
        ("a", "fail", "pass"),
        ("c", "absent", "unknown"),
    ]


def test_refresh_keeps_judgements_that_held_and_marks_new_fails_for_review(tmp_path: Path) -> None:
    old = Golden("upstream", "abc", {"drills/test_x.py::a": Expectation("fail", "defect", "deletes parts")})
    new = refreshed(old, run_of("upstream", a="fail", b="fail", c="pass"), "def")
    assert new.drills["drills/test_x.py::a"].why == "deletes parts"
    assert new.drills["drills/test_x.py::b"].why == "REVIEW: b broke"
    assert new.drills["drills/test_x.py::c"].judged == "right"
    path = tmp_path / "golden.json"
    path.write_text(json.dumps(new.as_dict()))
    assert load_golden(path) == new


@pytest.mark.parametrize(
    "body",
    [
        {"golden_version": 99, "engine": "e", "engine_version": "v", "drills": {}},
        {
            "golden_version": 1,
            "engine": "e",
            "engine_version": "v",
            "drills": {"n": {"verdict": "meh", "judged": "right", "why": "x"}},
        },
        {
            "golden_version": 1,
            "engine": "e",
            "engine_version": "v",
            "drills": {"n": {"verdict": "pass", "judged": "right", "why": ""}},
        },
        {"golden_version": 1, "engine": "e"},
    ],
)
def test_a_bad_golden_file_is_a_usage_error(tmp_path: Path, body: dict) -> None:
    path = tmp_path / "golden.json"
    path.write_text(json.dumps(body))
    with pytest.raises(UsageError, match="not a golden verdict file"):
        load_golden(path)
