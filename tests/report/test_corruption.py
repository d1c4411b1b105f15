"""The corruption matrix judged check by check: blind spots found, passes never called mismatches."""

from __future__ import annotations

import json
from pathlib import Path

from tests.report.conftest import CORRUPTION, REAL_RUN, SETTINGS, drill_line, make_run
from usr_harness.report.build import write_run_files
from usr_harness.report.corruption import corruption_checks, kind_counts
from usr_harness.report.model import DrillEntry


def _entry(verdict: str, expected: dict, observed: dict, **evidence: object) -> DrillEntry:
    nodeid = f"{CORRUPTION}[x.case-local]"
    return DrillEntry.from_dict(drill_line(nodeid, verdict, expected=expected, observed=observed, **evidence))


def test_each_check_is_judged_on_its_own() -> None:
    drill = _entry(
        "fail",
        {"diff/strict": "changed", "pull/strict": "sidecars", "push/size": "blind", "validate/strict": "n/a"},
        {"diff/strict": "changed", "pull/strict": "verify", "push/size": "unchanged"},
        failure="pull/strict: expected sidecars, got verify: post-pull",
    )
    checks = corruption_checks([drill])
    assert [(c.key, c.kind) for c in checks] == [
        ("diff/strict", "match"),
        ("pull/strict", "mismatch"),
        ("push/size", "blind-spot"),
    ]
    assert checks[1].note == "pull/strict: expected sidecars, got verify: post-pull"
    assert checks[2].note == "known blind spot: the size profile cannot see this change"


def test_unjudged_checks_say_why() -> None:
    drill = _entry(
        "unknown",
        {"diff/size": "changed", "pull/size": "sidecars", "push/strict": "blind"},
        {"diff/size": "unsupported", "push/strict": "changed"},
    )
    assert [(c.kind, c.note) for c in corruption_checks([drill])] == [
        ("unjudged", "engine bundled has no option for the size profile"),
        ("unjudged", "not run: the drill stopped before this check"),
        ("match", "seen, although the profile may miss it"),
    ]


def test_a_real_run_counts_every_blind_spot_and_no_false_mismatch(tmp_path: Path) -> None:
    lines = [json.loads(text) for text in REAL_RUN.read_text().splitlines()]
    report = write_run_files(make_run(tmp_path / "run", lines), SETTINGS)
    checks = corruption_checks(report.drills)
    listed = {(d.nodeid, key) for d in report.drills for key in d.evidence["blind_spots"]}
    assert listed and {(c.nodeid, c.key) for c in checks if c.kind == "blind-spot"} == listed
    assert kind_counts(checks) == {
        "match": len(checks) - len(listed),
        "blind-spot": len(listed),
        "mismatch": 0,
        "unjudged": 0,
    }
    unknown = {d.nodeid for d in report.drills if d.verdict == "unknown"}
    assert unknown == {nodeid for nodeid, _ in listed}
    reasons = [d.why for d in report.drills if d.nodeid in unknown]
    assert all(why.startswith("known blind spot(s), not a pass: ") for why in reasons)
    page = (tmp_path / "run" / "index.html").read_text()
    assert f'data-kind="blind-spot">{len(listed)} blind spots</span>' in page
    assert 'data-kind="mismatch">0 mismatches</span>' in page
