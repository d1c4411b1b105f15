"""The step report: a failed step never hides the rest; Ctrl-C stops the cycle with exit 130."""

from __future__ import annotations

from usr_harness.cycle.steps import INTERRUPTED_EXIT, StepFailed, StepReport


def _interrupt() -> str:
    raise KeyboardInterrupt


def _fail() -> str:
    raise StepFailed("no", exit_code=7)


def test_a_failure_goes_on_an_interrupt_stops() -> None:
    report = StepReport()
    report.run("first", "a", _fail)
    report.run("second", "b", lambda: "ok")
    report.run("third", "c", _interrupt)
    ran_after = []
    report.run("fourth", "d", lambda: ran_after.append(1) or "ran")
    result = report.finish()
    assert [s["status"] for s in result["steps"]] == ["failed", "passed", "failed", "skipped"]
    assert ran_after == [] and result["interrupted"] is True
    assert result["steps"][2]["exit_code"] == INTERRUPTED_EXIT == 130
    assert result["exit_code"] == 130 and result["failed_step"] == "first"
