"""Which cut points a power-loss sweep checks, and how a failing one is told: pure logic, no I/O.

A recorded run of n operations has n + 1 cut points (after 0 .. n operations). Cut points between two
syncs leave the same state (`cut_states` shares the tree), so a sweep groups them into ranges and checks
each distinct state once: checking a range's state checks every cut point in it. Past a limit a seeded
sample of ranges is checked; the range after the whole run (the cut right after the engine reported
success) is always in it.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from usr_harness.powercut.model import Policy, cut_states
from usr_harness.powercut.ops import Op
from usr_harness.powercut.tree import Tree

SHOWN_OPS = 12
"""How many operations before a failing cut point a message lists (all are in the evidence)."""


@dataclass
class CutRange:
    """Cut points `first_k .. last_k` leave one state; `problem` is its failed check, None if it passed."""

    first_k: int
    last_k: int
    problem: str | None = None
    evidence: dict = field(default_factory=dict)

    @property
    def points(self) -> int:
        return self.last_k - self.first_k + 1

    def as_dict(self) -> dict:
        verdict = "pass" if self.problem is None else "fail"
        return {
            "first_k": self.first_k,
            "last_k": self.last_k,
            "verdict": verdict,
            "problem": self.problem,
            "evidence": self.evidence,
        }


def cut_ranges(initial: Tree, ops: Sequence[Op], policy: Policy) -> list[CutRange]:
    """Every distinct state a cut of the recorded run can leave, as the range of cut points leaving it."""
    ranges: list[CutRange] = []
    previous: Tree | None = None
    for k, tree in cut_states(initial, ops, policy):
        if tree is previous:
            ranges[-1].last_k = k
            continue
        previous = tree
        ranges.append(CutRange(k, k))
    return ranges


def sample_ranges(ranges: list[CutRange], limit: int | None, seed: int) -> list[CutRange]:
    """All ranges up to `limit` (None: no limit), else a seeded sample of `limit` that keeps the last."""
    if limit is None or len(ranges) <= limit:
        return list(ranges)
    chosen = random.Random(seed).sample(ranges[:-1], limit - 1)
    return sorted(chosen, key=lambda cut: cut.first_k) + ranges[-1:]


def named_point(cut: CutRange, total_ops: int) -> int:
    """A range is named by its first point, or by its last for the state after the whole run."""
    return cut.last_k if cut.last_k == total_ops else cut.first_k


def failure_message(policy: Policy, ops: Sequence[Op], failed: Sequence[CutRange], reproduce: str) -> str:
    """The first failing cut in full (problem, operations before it, reproduce line), the others by k."""
    first = failed[0]
    k = named_point(first, len(ops))
    same = f" (the same state as cuts {first.first_k}..{first.last_k})" if first.points > 1 else ""
    before = [f"  {index}: {op.describe()}" for index, op in enumerate(ops[:k], 1)][-SHOWN_OPS:]
    others = [f"{cut.first_k}..{cut.last_k}: {(cut.problem or '')[:200]}" for cut in failed[1:]]
    return "\n".join(
        [
            f"power cut after operation {k} of {len(ops)}{same} ({policy}): {first.problem}",
            f"last {len(before)} operations before the cut:",
            *before,
            *([f"{len(others)} more failing cut ranges:", *others] if others else []),
            f"reproduce: {reproduce}",
        ]
    )


def coverage(checked: Sequence[CutRange], total_ops: int) -> dict[str, int]:
    """How much of the run a sweep covered: cut points (k values) and distinct states checked."""
    return {
        "operations": total_ops,
        "cut_points": total_ops + 1,
        "cut_points_checked": sum(cut.points for cut in checked),
        "states_checked": len(checked),
    }
