"""The kill matrix: for each flaw, the first drill that failed on it, or why none did (pure).

A flaw is `caught` when one of its drills failed, a `survivor` when every drill passed
(or could not judge it), `blind` or `equivalent` when it survived and the catalogue says
why; `broken` when the variant could not be judged at all (the patch did not apply, the
copy did not import, the run timed out): a harness defect, as a survivor is.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from usr_harness.flaws.catalogue import Flaw

STATUSES = ("caught", "survivor", "blind", "equivalent", "broken")
FAILING = ("survivor", "broken")


@dataclass(frozen=True)
class FlawResult:
    """One row of the matrix."""

    name: str
    area: str
    summary: str
    status: str
    drills: tuple[str, ...]
    caught_by: str | None = None
    failure: str | None = None
    verdicts: dict[str, str] = field(default_factory=dict)
    reason: str | None = None
    seconds: float = 0.0


def judge(flaw: Flaw, drill_lines: list[dict[str, Any]], seconds: float) -> FlawResult:
    """The row for `flaw` from the drills.jsonl lines of its run, in the order they ran."""
    verdicts = {line["nodeid"]: line["verdict"] for line in drill_lines}
    failed = [line for line in drill_lines if line["verdict"] == "fail"]
    common = {
        "name": flaw.name,
        "area": flaw.area,
        "summary": flaw.summary,
        "drills": flaw.drills,
        "verdicts": verdicts,
        "seconds": round(seconds, 1),
    }
    if failed:
        failure = str(failed[0].get("evidence", {}).get("failure", ""))
        reason = flaw.excused and f"declared {flaw.excused}, yet caught: update the catalogue"
        return FlawResult(
            status="caught", caught_by=failed[0]["nodeid"], failure=failure[:500], reason=reason, **common
        )
    if not drill_lines:
        return broken(flaw, "no drill ran: the declared node ids select nothing", seconds)
    if flaw.blind:
        return FlawResult(status="blind", reason=flaw.blind, **common)
    if flaw.equivalent:
        return FlawResult(status="equivalent", reason=flaw.equivalent, **common)
    return FlawResult(status="survivor", reason="every declared drill passed or could not judge it", **common)


def broken(flaw: Flaw, reason: str, seconds: float = 0.0) -> FlawResult:
    """A variant the harness could not judge."""
    return FlawResult(
        name=flaw.name,
        area=flaw.area,
        summary=flaw.summary,
        status="broken",
        drills=flaw.drills,
        reason=reason,
        seconds=round(seconds, 1),
    )


def read_drill_lines(text: str) -> list[dict[str, Any]]:
    """drills.jsonl as written by the drill reporter (one JSON object per line)."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@dataclass
class KillMatrix:
    """Every flaw's row, and what the run as a whole says."""

    results: list[FlawResult]

    def counts(self) -> dict[str, int]:
        return {status: sum(r.status == status for r in self.results) for status in STATUSES}

    @property
    def failing(self) -> list[FlawResult]:
        """Survivors and broken variants: each makes `usr-harness flaws` exit non-zero."""
        return [r for r in self.results if r.status in FAILING]

    @property
    def exit_code(self) -> int:
        return 1 if self.failing else 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "counts": self.counts(),
            "survivors": [r.name for r in self.results if r.status == "survivor"],
            "broken": [r.name for r in self.results if r.status == "broken"],
            "flaws": [asdict(r) for r in self.results],
        }

    def table(self) -> str:
        """The terminal table: one line per flaw, then the counts."""
        width = max((len(r.name) for r in self.results), default=4)
        lines = [f"{'flaw':<{width}}  {'area':<10} {'status':<10} {'s':>6}  caught by / why"]
        for r in self.results:
            why = r.caught_by or r.reason or ""
            lines.append(f"{r.name:<{width}}  {r.area:<10} {r.status:<10} {r.seconds:>6.1f}  {why}")
        counts = ", ".join(f"{n} {status}" for status, n in self.counts().items() if n)
        lines.append(f"{len(self.results)} flaw(s): {counts}")
        return "\n".join(lines)
