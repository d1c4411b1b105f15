"""Verdicts of two runs side by side, drill by drill: engine A against engine B, or a run against itself.

Pure: it reads verdict maps (a report's drills, or a golden file's expectations)
so the same comparison backs `usr-harness report compare` and the peer lane.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from usr_harness.report.model import Report

ABSENT = "absent"


@dataclass(frozen=True)
class VerdictRow:
    """One drill's verdict on each side; `absent` where a side did not run it."""

    nodeid: str
    left: str
    right: str

    @property
    def moved(self) -> bool:
        return self.left != self.right


def verdicts(report: Report) -> dict[str, str]:
    return {drill.nodeid: drill.verdict for drill in report.drills}


def messages(report: Report) -> dict[str, str]:
    """Each drill's one-line message: why a verdict moved is the two sides' messages."""
    return {drill.nodeid: drill.message for drill in report.drills}


def compare_verdicts(left: Mapping[str, str], right: Mapping[str, str]) -> list[VerdictRow]:
    """Every drill either side ran, in the left side's order, then the right side's new ones."""
    order = list(left) + [nodeid for nodeid in right if nodeid not in left]
    return [VerdictRow(nodeid, left.get(nodeid, ABSENT), right.get(nodeid, ABSENT)) for nodeid in order]


def movement_summary(rows: list[VerdictRow]) -> dict[str, int]:
    """How many drills kept their verdict and how many moved, by the pair of verdicts."""
    summary: dict[str, int] = {"same": 0, "moved": 0}
    for row in rows:
        summary["moved" if row.moved else "same"] += 1
        if row.moved:
            key = f"{row.left}->{row.right}"
            summary[key] = summary.get(key, 0) + 1
    return summary


def comparison_json(
    left: Report, right: Report, rows: list[VerdictRow], shown: list[VerdictRow]
) -> dict[str, Any]:
    """`report compare --json`: each side's verdict line, the movement counts, and each shown drill's
    verdicts with both sides' messages (why it moved)."""
    both = [row for row in rows if ABSENT not in (row.left, row.right)]
    why = (messages(left), messages(right))
    sides = {
        name: {
            "run_id": side.run_id,
            "engine": side.engine,
            "outcome": side.outcome,
            "headline": side.headline,
        }
        for name, side in (("A", left), ("B", right))
    }
    drills = [
        {
            "nodeid": row.nodeid,
            "A": row.left,
            "B": row.right,
            "moved": row.moved,
            "A_message": why[0].get(row.nodeid),
            "B_message": why[1].get(row.nodeid),
        }
        for row in shown
    ]
    summary = movement_summary(both)
    return {**sides, "summary": summary, "one_side_only": len(rows) - len(both), "drills": drills}
