"""A drill's verdict and the one-line message that says why, from what pytest and the drill recorded.

`pass` and `fail` judge the engine; `unsupported` names an engine feature the drill
needs and the engine lacks; `unknown` is kept for a harness that could not decide
(a defect of the harness, never of the engine). Pure: no I/O, no pytest import.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from usr_harness.report.sources import HARDENING_KIND, RUNBOOK, failure_kind

VERDICTS = ("pass", "fail", "unsupported", "unknown")
UNSUPPORTED_PREFIX = "unsupported: "
NO_SOURCE = "harness defect: the drill names no runbook clause or hardening rule (@pytest.mark.enforces)"
NO_ENGINE_CALL = "harness defect: the drill ran no engine command"
CRASHED = "harness defect: the drill crashed instead of judging"
#: The exceptions a drill judges with: its asserts, pytest.fail (pytest-timeout's too), and an engine
#: command killed past its hang bound. Any other exception is the harness breaking, never a verdict.
JUDGEMENTS = ("AssertionError", "Failed", "EngineHung")


def crash_type(crash_message: str | None) -> str | None:
    """The exception a failure's crash line names (`pkg.mod.Name: text` -> `Name`), if it names one."""
    name = _first_line(crash_message).split(":", 1)[0].strip().rsplit(".", 1)[-1]
    return name if name.isidentifier() else None


def _first_line(text: str | None) -> str:
    lines = (text or "").strip().splitlines()
    return lines[0] if lines else ""


def decide(
    outcomes: Sequence[str],
    reason: str | None,
    *,
    engine_calls: int,
    enforces: Sequence[str],
    crash: str | None,
) -> tuple[str, str | None]:
    """The verdict of pytest's phase outcomes, and its reason (None for a pass); `crash` is the
    exception type of the first failed phase."""
    if "skipped" in outcomes and "failed" not in outcomes:
        if reason and reason.startswith(UNSUPPORTED_PREFIX):
            return "unsupported", reason.removeprefix(UNSUPPORTED_PREFIX)
        return "unknown", reason or "skipped"
    if not enforces:
        return "unknown", NO_SOURCE
    if engine_calls == 0:
        detail = f" before failing: {reason}" if "failed" in outcomes and reason else ""
        return "unknown", NO_ENGINE_CALL + detail
    if "failed" in outcomes and crash not in JUDGEMENTS:
        return "unknown", f"{CRASHED}: {reason or crash or 'no crash message'}"
    if "failed" in outcomes:
        return "fail", reason or "failed"
    return "pass", None


def drill_message(verdict: str, reason: str | None, enforces: Sequence[str]) -> str:
    """One stable line: the verdict, the source a failure breaks, and the first line of the reason."""
    first = _first_line(reason)[:300]
    if verdict == "pass":
        return "pass: holds " + ", ".join(enforces)
    if verdict == "fail":
        kind = "runbook violation" if failure_kind(enforces) == RUNBOOK else "hardening gap"
        return f"fail ({kind} of {', '.join(enforces)}): {first}"
    return f"{verdict}: {first}"


def failure_counts(drills: Sequence[Mapping[str, object]]) -> dict[str, int]:
    """Failed drills split by what they break: upstream's runbooks, or this project's hardening rules."""
    counts = {RUNBOOK: 0, HARDENING_KIND: 0}
    for drill in drills:
        if drill["verdict"] == "fail":
            counts[failure_kind(drill["enforces"])] += 1  # type: ignore[arg-type]
    return counts


def run_message(summary: Mapping[str, int], failures: Mapping[str, int], drove_engine: int) -> str:
    """The run in one stable line: counts by verdict, failures by kind, drills that drove the engine."""
    shown = ", ".join(f"{summary[verdict]} {verdict}" for verdict in VERDICTS)
    return (
        f"{summary['total']} drills: {shown}; {failures[RUNBOOK]} runbook violations, "
        f"{failures[HARDENING_KIND]} hardening gaps; {drove_engine} drove an engine command"
    )


OUTCOMES = ("passed", "failed", "errored")


def run_outcome(summary: Mapping[str, int], cycle_status: str | None) -> str:
    """The run's own verdict, as pytest gives one: a failed drill fails it; a harness that could not
    decide (an unknown drill, a cycle step that broke) errors it; unsupported drills never do."""
    if summary["fail"]:
        return "failed"
    if summary["unknown"] or cycle_status not in (None, "passed"):
        return "errored"
    return "passed"


def headline(outcome: str, summary: Mapping[str, int], blind_spots: int) -> str:
    """The verdict line every view opens with; expected blind spots counted apart, like pytest's xfail."""
    shown = ", ".join(f"{summary[verdict]} {verdict}" for verdict in VERDICTS)
    apart = f" ({blind_spots} expected blind spot{'' if blind_spots == 1 else 's'})" if blind_spots else ""
    return f"{outcome}: {summary['total']} drills: {shown}{apart}"
