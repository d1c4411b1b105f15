"""What drills enforce: runbook clauses and hardening rules, and every drill of the suite names one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from usr_harness.report.sources import HARDENING, failure_kind, kind_of
from usr_harness.report.verdicts import crash_type, decide, drill_message, run_message

ROOT = Path(__file__).resolve().parents[2]
CLAUSE = "docs/operations/sync/fidelity-drills.md#drill-3-overlay-schema-attack-surface"


def test_sources_are_runbook_clauses_or_known_hardening_rules() -> None:
    assert kind_of(CLAUSE) == "runbook" and kind_of("H-quote-dataset-id") == "hardening"
    for wrong in ("H-typo", "fidelity-drills.md#drill-3", "docs/operations/sync/x.md", "/work/x.md#a"):
        with pytest.raises(ValueError, match="unknown drill source"):
            kind_of(wrong)
    assert failure_kind(["H-lock-wait", CLAUSE]) == "runbook" and failure_kind(["H-lock-wait"]) == "hardening"


def test_every_hardening_rule_is_documented_in_the_contract() -> None:
    contract = (ROOT / "docs" / "contract.md").read_text(encoding="utf-8")
    assert [rule for rule in HARDENING if f"`{rule}`" not in contract] == []


def test_verdicts_say_why_and_a_drill_that_judged_nothing_is_unknown() -> None:
    sources = ["H-lock-wait"]
    assert decide(["passed"] * 3, None, engine_calls=2, enforces=sources, crash=None) == ("pass", None)
    assert decide(["passed", "failed"], "boom", engine_calls=1, enforces=sources, crash="AssertionError") == (
        "fail",
        "boom",
    )
    assert decide(
        ["skipped"], "unsupported: no --lock-timeout", engine_calls=0, enforces=sources, crash=None
    ) == (
        "unsupported",
        "no --lock-timeout",
    )
    assert (
        decide(["skipped"], "jq is not installed", engine_calls=0, enforces=sources, crash=None)[0]
        == "unknown"
    )
    assert decide(["passed"] * 3, None, engine_calls=0, enforces=sources, crash=None)[0] == "unknown"
    assert (
        decide(["passed", "failed"], "setup", engine_calls=0, enforces=sources, crash="AssertionError")[0]
        == "unknown"
    )
    assert decide(["passed"] * 3, None, engine_calls=1, enforces=[], crash=None)[0] == "unknown"
    assert drill_message("fail", "boom\nmore", [CLAUSE]) == f"fail (runbook violation of {CLAUSE}): boom"
    summary = {"total": 3, "pass": 1, "fail": 1, "unsupported": 1, "unknown": 0}
    assert run_message(summary, {"runbook": 0, "hardening": 1}, 2) == (
        "3 drills: 1 pass, 1 fail, 1 unsupported, 0 unknown; 0 runbook violations, 1 hardening gaps; "
        "2 drove an engine command"
    )


BARE_DRILLS = """
import sys
import pytest
from usr_harness.pytest_plugin import sources_of

class Bare:
    def pytest_collection_finish(self, session):
        print("BARE", [item.nodeid for item in session.items if not sources_of(item)], len(session.items))

sys.exit(pytest.main([sys.argv[1], "--collect-only", "-q", "-p", "no:cacheprovider"], plugins=[Bare()]))
"""


def test_every_drill_of_the_suite_names_what_it_enforces() -> None:
    done = subprocess.run(
        [sys.executable, "-c", BARE_DRILLS, str(ROOT / "drills")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stdout.splitlines() if line.startswith("BARE "))
    assert line.startswith("BARE [] ") and int(line.split()[-1]) > 100, line


@pytest.mark.parametrize(
    ("crash_line", "verdict"),
    [
        ("AssertionError: the pull left a stage", "fail"),
        ("Failed: Timeout (>300.0s) from pytest-timeout.", "fail"),
        ("usr_harness.engines.adapter.EngineHung: the engine's `diff demo` did not finish", "fail"),
        ("KeyError: 'up_to_date'", "unknown"),
        ("TypeError: 'NoneType' object is not subscriptable", "unknown"),
        ("worker 'gw0' crashed while running 'drills/test_x.py::t'", "unknown"),
        ("", "unknown"),
    ],
)
def test_only_a_judgement_fails_a_drill_a_harness_crash_is_unknown(crash_line: str, verdict: str) -> None:
    """A drill that crashes on its own bug (a KeyError reading an audit) has judged nothing: calling
    that a fail would blame the engine for the harness."""
    got, why = decide(
        ["passed", "failed", "passed"],
        crash_line,
        engine_calls=2,
        enforces=["H-lock-wait"],
        crash=crash_type(crash_line),
    )
    assert got == verdict
    if verdict == "unknown":
        assert why.startswith("harness defect: the drill crashed instead of judging")
