"""The kill matrix: a flaw is caught by its first failing drill, else a survivor unless the catalogue
says why it may survive; an empty run is a harness defect, never a pass."""

from __future__ import annotations

import json
from pathlib import Path

from usr_harness.flaws.catalogue import Flaw
from usr_harness.flaws.matrix import KillMatrix, broken, judge, read_drill_lines
from usr_harness.report.kill_matrix import kill_matrix_html

DRILLS = ("drills/test_a.py", "drills/test_b.py")


def _flaw(**changes) -> Flaw:
    fields = {"name": "f", "summary": "a bug", "area": "plan", "drills": DRILLS, "patch": Path("f.patch")}
    return Flaw(**{**fields, **changes})


def _line(nodeid: str, verdict: str, failure: str | None = None) -> dict:
    line = {"nodeid": nodeid, "verdict": verdict}
    if failure:
        line["evidence"] = {"failure": failure}
    return line


def test_the_first_failing_drill_catches_the_flaw():
    lines = [_line("drills/test_a.py::x", "pass"), _line("drills/test_b.py::y", "fail", "refused nothing")]
    result = judge(_flaw(), lines, 3.21)
    assert (result.status, result.caught_by, result.failure) == (
        "caught",
        "drills/test_b.py::y",
        "refused nothing",
    )
    assert result.verdicts == {"drills/test_a.py::x": "pass", "drills/test_b.py::y": "fail"}
    assert result.seconds == 3.2


def test_passing_or_unjudged_drills_leave_a_survivor():
    lines = [_line("drills/test_a.py::x", "pass"), _line("drills/test_b.py::y", "unknown")]
    assert judge(_flaw(), lines, 1).status == "survivor"


def test_an_excused_flaw_survives_as_blind_or_equivalent_and_says_so_when_caught():
    lines = [_line("drills/test_a.py::x", "pass")]
    assert judge(_flaw(blind="issue 32"), lines, 1).status == "blind"
    assert judge(_flaw(equivalent="plan refuses first"), lines, 1).status == "equivalent"
    caught = judge(_flaw(blind="issue 32"), [_line("drills/test_a.py::x", "fail")], 1)
    assert caught.status == "caught" and "update the catalogue" in caught.reason


def test_a_run_where_no_drill_ran_is_broken():
    assert judge(_flaw(), [], 1).status == "broken"


def test_the_matrix_fails_on_survivors_and_broken_variants_only():
    caught = judge(_flaw(name="a"), [_line("drills/test_a.py::x", "fail")], 1)
    blind = judge(_flaw(name="b", blind="issue 32"), [_line("drills/test_a.py::x", "pass")], 1)
    assert KillMatrix([caught, blind]).exit_code == 0
    survivor = judge(_flaw(name="c"), [_line("drills/test_a.py::x", "pass")], 1)
    matrix = KillMatrix([caught, blind, survivor, broken(_flaw(name="d"), "patch does not apply")])
    assert matrix.exit_code == 1
    data = matrix.as_dict()
    assert data["survivors"] == ["c"] and data["broken"] == ["d"]
    assert data["counts"] == {"caught": 1, "survivor": 1, "blind": 1, "equivalent": 0, "broken": 1}
    table = matrix.table()
    assert "drills/test_a.py::x" in table and "patch does not apply" in table
    assert table.splitlines()[-1] == "4 flaw(s): 1 caught, 1 survivor, 1 blind, 1 broken"


def test_the_html_section_shows_every_flaw_escaped():
    hostile = judge(_flaw(name="<x>", summary="a & b"), [_line("drills/test_a.py::x", "pass")], 1)
    data = json.loads(json.dumps(KillMatrix([hostile]).as_dict()))
    html = kill_matrix_html(data)
    assert html.startswith('<section id="kill-matrix">')
    assert "&lt;x&gt;" in html and "a &amp; b" in html and "verdict-fail" in html


def test_drill_lines_are_read_one_object_per_line():
    assert read_drill_lines('{"nodeid": "a", "verdict": "pass"}\n\n') == [{"nodeid": "a", "verdict": "pass"}]
