"""transfer_problems: a pull or push passes on its audit and its trees, never on exit 0 alone."""

from __future__ import annotations

from usr_harness.cycle.checks import transfer_problems
from usr_harness.report.fingerprint import ABSENT, TreeEntry, TreeFingerprint

TREE = TreeFingerprint.of([TreeEntry("records.parquet", "file", 10, "aa" * 32)])
OTHER = TreeFingerprint.of([TreeEntry("records.parquet", "file", 10, "bb" * 32)])
GONE = TreeFingerprint((), ABSENT)
AUDIT = {"data": {"transfer_state": "TRANSFERRED"}}


def test_a_real_transfer_has_no_problems() -> None:
    assert transfer_problems("pull", AUDIT, TREE, TREE, TREE) == []
    assert transfer_problems("push", {"data": {"transfer_state": "NO-OP"}}, TREE, TREE, TREE) == []


def test_each_lie_is_named() -> None:
    assert transfer_problems("pull", None, TREE, TREE, GONE) == [
        "pull exited 0 but wrote no audit (--audit-json-out)",
        "after pull the local dataset is missing",
    ]
    problems = transfer_problems("push", {"data": {"transfer_state": "FAILED"}}, TREE, OTHER, TREE)
    assert problems == [
        "push audit says transfer_state 'FAILED', not TRANSFERRED or NO-OP",
        "push changed the local side it copies from: records.parquet",
        "after push the remote dataset differs: records.parquet",
    ]
