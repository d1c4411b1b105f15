"""The corruption matrix, one check per case and command/profile, judged the way the drill judged it.

A corruption drill records `expected` and `observed` as `{"<command>/<profile>": outcome}`; one
drill is many checks. Comparing whole dicts would call every drill whose rows differ anywhere
(or whose observed values are spelled differently, `changed` for an expected refusal the engine
made) a mismatch, and would never find a blind spot. Each check is judged on its own here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from usr_harness.report.model import DrillEntry

CORRUPTION_DRILL = "test_corruption_matrix"
BLIND, NA, UNCHANGED, UNSUPPORTED = "blind", "n/a", "unchanged", "unsupported"
KINDS = ("match", "blind-spot", "mismatch", "unjudged")


@dataclass(frozen=True)
class Check:
    """One command under one verify profile against one corruption case.

    The drill is the judge: a check it lists in its failure message is a mismatch, any other
    check it ran held (an engine may name a refusal its own way); `blind` seen unchanged is a
    known blind spot, never a detection."""

    nodeid: str
    case: str
    key: str
    expected: str
    observed: str | None
    kind: str
    note: str


def _case(nodeid: str) -> str:
    return nodeid.partition("[")[2].rstrip("]") or nodeid.split("::")[-1]


def case_parts(case: str) -> tuple[str, str, str]:
    """`primary.byte-flip-local` is section `primary`, kind `byte-flip`, side `local`: the matrix's groups."""
    section, _, rest = case.partition(".")
    kind, _, side = rest.rpartition("-")
    if not rest or not kind:
        return section, rest, ""
    return section, kind, side


def _failure_line(drill: DrillEntry, key: str) -> str | None:
    """The drill lists each failed check as `<command>/<profile>: why` in its failure message."""
    failure = str(drill.evidence.get("failure") or "")
    return next((line.strip() for line in failure.splitlines() if line.strip().startswith(f"{key}:")), None)


def _judge(drill: DrillEntry, key: str, expected: str, observed: str | None) -> tuple[str, str]:
    profile = key.partition("/")[2]
    if observed is None:
        return "unjudged", "not run: the drill stopped before this check"
    if observed == UNSUPPORTED:
        return "unjudged", f"engine {drill.engine} has no option for the {profile} profile"
    failed = _failure_line(drill, key)
    if failed:
        return "mismatch", failed
    if expected == NA:
        return "match", "passed by untouched: the command does not read it"
    if expected == BLIND:
        if observed == UNCHANGED:
            return "blind-spot", f"known blind spot: the {profile} profile cannot see this change"
        return "match", "seen, although the profile may miss it"
    if expected == observed:
        return "match", "as declared"
    return "match", f"accepted by the drill as {observed}"


def corruption_checks(drills: Iterable[DrillEntry]) -> list[Check]:
    """Every judged check of every corruption drill, in drill order then the drill's own key order."""
    checks = []
    for drill in drills:
        expected, observed = drill.evidence.get("expected"), drill.evidence.get("observed")
        if CORRUPTION_DRILL not in drill.nodeid or not isinstance(expected, dict):
            continue
        seen = observed if isinstance(observed, dict) else {}
        for key, outcome in expected.items():
            if outcome == NA and key not in seen:
                continue
            got = seen.get(key)
            kind, note = _judge(drill, key, str(outcome), None if got is None else str(got))
            checks.append(Check(drill.nodeid, _case(drill.nodeid), key, str(outcome), got, kind, note))
    return checks


def kind_counts(checks: Iterable[Check]) -> dict[str, int]:
    counts = Counter(check.kind for check in checks)
    return {kind: counts[kind] for kind in KINDS}
