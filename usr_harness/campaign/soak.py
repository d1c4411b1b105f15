"""Soak verdicts: over many seeded cycles of the bundled engine, every verdict that is not the expected one.

With a golden file, a drill whose verdict is not its golden one is a false alarm. Without,
the bundled engine is expected to pass every drill it can judge: a `fail` is a false alarm
(a drill that cried wolf), while a drill left unjudged (a known blind spot, a missing tool)
is counted and named as unjudged, not as an alarm. A cycle that wrote no report at all is
an alarm too, as the drills it should have judged went unjudged. Pure: reports in, alarms out.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from usr_harness.report.model import Report


@dataclass(frozen=True)
class FalseAlarm:
    seed: int
    nodeid: str
    verdict: str
    expected: str
    why: str
    reproduce: str = ""

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


@dataclass(frozen=True)
class CycleOutcome:
    """One soak cycle: its report, or why it has none (pytest's exit code)."""

    seed: int
    report: Report | None
    exit_code: int
    wall_seconds: float


def is_alarm(verdict: str, expected: str | None) -> bool:
    """Against a golden verdict any other verdict alarms; without one, only a fail does."""
    return verdict != expected if expected is not None else verdict == "fail"


def false_alarms(outcomes: list[CycleOutcome], expected: dict[str, str] | None = None) -> list[FalseAlarm]:
    """Every drill of every cycle whose verdict alarms (see `is_alarm`); no-report cycles too."""
    alarms: list[FalseAlarm] = []
    for outcome in outcomes:
        if outcome.report is None:
            why = f"the cycle wrote no report (pytest exited {outcome.exit_code})"
            alarms.append(FalseAlarm(outcome.seed, "(whole cycle)", "none", "pass", why))
            continue
        for drill in outcome.report.drills:
            want = None if expected is None else expected.get(drill.nodeid, "pass")
            if is_alarm(drill.verdict, want):
                alarms.append(
                    FalseAlarm(
                        outcome.seed, drill.nodeid, drill.verdict, want or "pass", drill.why, drill.reproduce
                    )
                )
    return alarms


def soak_summary(outcomes: list[CycleOutcome], alarms: list[FalseAlarm], lanes: int) -> dict[str, Any]:
    """The soak's own record (`soak.json`): cycles, drills judged, and every false alarm."""
    judged = sum(len(o.report.drills) for o in outcomes if o.report is not None)
    unjudged = Counter(
        drill.nodeid
        for outcome in outcomes
        if outcome.report is not None
        for drill in outcome.report.drills
        if drill.verdict not in ("pass", "fail")
    )
    return {
        "cycles": len(outcomes),
        "lanes": lanes,
        "seeds": [outcome.seed for outcome in outcomes],
        "drill_runs": judged,
        "false_alarm_count": len(alarms),
        "false_alarms": [alarm.as_dict() for alarm in alarms],
        "unjudged": dict(sorted(unjudged.items())),
        "cycle_runs": [
            {
                "seed": o.seed,
                "run_id": o.report.run_id if o.report else None,
                "exit_code": o.exit_code,
                "wall_seconds": round(o.wall_seconds, 3),
                "summary": o.report.summary if o.report else None,
            }
            for o in outcomes
        ],
    }
