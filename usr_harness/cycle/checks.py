"""What the cycle's verify steps hold a transfer to: its evidence, never its exit code alone.

An engine that exits 0, prints a plausible summary and does nothing must fail the
cycle: a pull or push passes only with an audit that says it ran and trees that
prove it (the source side unchanged, the target side byte-identical to the source).
"""

from __future__ import annotations

from usr_harness.report.fingerprint import ABSENT, FingerprintDiff, TreeFingerprint, compare

ACCEPTED_STATES = ("TRANSFERRED", "NO-OP")
SIDES = {"pull": ("remote", "local"), "push": ("local", "remote")}
SHOWN_PATHS = 5


def describe_paths(difference: FingerprintDiff) -> str:
    """The first few paths that differ, and how many more: a step line stays one line."""
    paths = difference.paths
    more = f" and {len(paths) - SHOWN_PATHS} more" if len(paths) > SHOWN_PATHS else ""
    return ", ".join(paths[:SHOWN_PATHS]) + more


def transfer_problems(
    action: str,
    audit: dict | None,
    source_before: TreeFingerprint,
    source_after: TreeFingerprint,
    target_after: TreeFingerprint,
) -> list[str]:
    """Why a pull or push that exited 0 did not do its job (empty when it did), one line each."""
    source, target = SIDES[action]
    problems = []
    if audit is None:
        problems.append(f"{action} exited 0 but wrote no audit (--audit-json-out)")
    else:
        state = audit.get("data", {}).get("transfer_state")
        if state not in ACCEPTED_STATES:
            wanted = " or ".join(ACCEPTED_STATES)
            problems.append(f"{action} audit says transfer_state {state!r}, not {wanted}")
    moved = compare(source_before, source_after)
    if not moved.is_empty:
        problems.append(f"{action} changed the {source} side it copies from: {describe_paths(moved)}")
    if target_after.digest != source_after.digest:
        unequal = compare(source_after, target_after)
        where = "is missing" if target_after.digest == ABSENT else f"differs: {describe_paths(unequal)}"
        problems.append(f"after {action} the {target} dataset {where}")
    return problems
