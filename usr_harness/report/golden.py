"""Golden verdicts: what one engine must get on every drill, and why, checked against a run.

A golden file pins a foreign engine at a known version: a verdict that moves
means that engine (or a drill) changed, and the check names the drill, so a
maintainer sees what an upstream change fixed or broke. Pure: files in, rows out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from usr_harness.errors import UsageError
from usr_harness.report.compare import ABSENT, VerdictRow, compare_verdicts, verdicts
from usr_harness.report.model import VERDICTS, Report

GOLDEN_VERSION = 1
#: How a verdict is judged: a real defect of the engine, the engine right, a feature the engine
#: lacks (unsupported), or a harness that could not decide (unknown, a harness defect).
CLASSES = ("defect", "right", "unsupported", "unknown")


@dataclass(frozen=True)
class Expectation:
    verdict: str
    judged: str
    why: str

    def as_dict(self) -> dict[str, str]:
        return {"verdict": self.verdict, "judged": self.judged, "why": self.why}


@dataclass(frozen=True)
class Golden:
    engine: str
    engine_version: str
    drills: dict[str, Expectation]

    def as_dict(self) -> dict[str, Any]:
        return {
            "golden_version": GOLDEN_VERSION,
            "engine": self.engine,
            "engine_version": self.engine_version,
            "counts": {judged: sum(e.judged == judged for e in self.drills.values()) for judged in CLASSES},
            "drills": {nodeid: self.drills[nodeid].as_dict() for nodeid in sorted(self.drills)},
        }


def load_golden(path: Path) -> Golden:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("golden_version") != GOLDEN_VERSION:
            raise ValueError(
                f"golden_version {data.get('golden_version')!r}; this harness reads {GOLDEN_VERSION}"
            )
        drills = {nodeid: _expectation(nodeid, item) for nodeid, item in data["drills"].items()}
        return Golden(str(data["engine"]), str(data["engine_version"]), drills)
    except FileNotFoundError:
        raise UsageError(f"no golden file at {path}", paths=[str(path)]) from None
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise UsageError(f"{path} is not a golden verdict file: {error}", paths=[str(path)]) from None


def _expectation(nodeid: str, item: dict[str, Any]) -> Expectation:
    expectation = Expectation(str(item["verdict"]), str(item["judged"]), str(item["why"]))
    if expectation.verdict not in VERDICTS or expectation.judged not in CLASSES or not expectation.why:
        raise ValueError(f"{nodeid}: verdict in {VERDICTS}, judged in {CLASSES} and a why are required")
    return expectation


def check_run(golden: Golden, report: Report) -> list[VerdictRow]:
    """The drills of the run whose verdict is not the golden one (a drill new to the golden too)."""
    expected = {nodeid: item.verdict for nodeid, item in golden.drills.items()}
    observed = verdicts(report)
    rows = compare_verdicts({nodeid: expected.get(nodeid, ABSENT) for nodeid in observed}, observed)
    return [row for row in rows if row.moved]


def refreshed(golden: Golden | None, report: Report, engine_version: str) -> Golden:
    """A golden from a run: kept judgements where the verdict held, the run's own reason elsewhere.

    A drill whose verdict is new is marked from its evidence (the failure or the unknown reason);
    a `fail` becomes `defect` only by a person's judgement, so it is written for review.
    """
    kept = golden.drills if golden else {}
    drills: dict[str, Expectation] = {}
    for drill in report.drills:
        old = kept.get(drill.nodeid)
        if old is not None and old.verdict == drill.verdict:
            drills[drill.nodeid] = old
            continue
        reason = drill.why
        judged = {"pass": "right", "unsupported": "unsupported", "unknown": "unknown", "fail": "defect"}[
            drill.verdict
        ]
        why = {
            "pass": "the engine meets the drill's contract",
            "unsupported": reason or "a feature the engine lacks",
            "unknown": reason or "not judged",
            "fail": "REVIEW: " + (reason or "failed"),
        }[drill.verdict]
        drills[drill.nodeid] = Expectation(drill.verdict, judged, why)
    for nodeid, old in kept.items():
        drills.setdefault(nodeid, old)
    return Golden(report.engine, engine_version, drills)
