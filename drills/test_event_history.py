"""The event log only grows: extensions pass, anything else fails and changes nothing."""

from __future__ import annotations

import pytest

from .conftest import Sync

pytestmark = [pytest.mark.drill, pytest.mark.ssh, pytest.mark.enforces("H-events-only-grow")]


def _edit_log(path, edit) -> None:
    path.write_bytes(edit(path.read_bytes()))


def _branch(data: bytes) -> bytes:
    """Same size, different history: a digit of the first (shared) line changes."""
    index = next(i for i, ch in enumerate(data) if chr(ch).isdigit())
    return data[:index] + (b"1" if data[index : index + 1] != b"1" else b"2") + data[index + 1 :]


def _drop_last_line(data: bytes) -> bytes:
    return data[: data.rstrip(b"\n").rfind(b"\n") + 1]


def _reorder(data: bytes) -> bytes:
    return b"".join(reversed(data.splitlines(keepends=True)))


# case: (side edited, edit, command, remote gets a new round first, family, message token)
CASES = {
    "remote-branched": ("remote", _branch, "pull", False, "events", "does not extend"),
    "remote-truncated": ("remote", _drop_last_line, "pull", False, "events", "does not extend"),
    "remote-branched-extended": ("remote", _branch, "pull", True, "events", "not a prefix"),
    "local-branched-push": ("local", _branch, "push", False, "events", "does not extend"),
    "local-reordered-pull": ("local", _reorder, "pull", True, "events", "not a prefix"),
    "local-invalid-line-push": ("local", lambda d: d + b"not json\n", "push", False, "events", "line"),
    "local-missing-final-newline-push": (
        "local",
        lambda d: d + b'{"a":1}',
        "push",
        False,
        "events",
        "newline",
    ),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_history_violations_fail_and_change_nothing(sync: Sync, case: str):
    side, edit, action, extend_remote, family, token = CASES[case]
    sync.hpc_rounds(0, 2)
    assert sync.pull().ok
    if extend_remote:
        sync.hpc_rounds(2, 1)
    target = (sync.hpc if side == "remote" else sync.local) / ".events.log"
    _edit_log(target, edit)
    before = sync.fingerprint("before")
    result = sync.pull() if action == "pull" else sync.push()
    assert sync.refused(result, family), result.message
    assert sync.says(result, token), result.message
    sync.unchanged(before, "a refused command")


def test_extension_is_accepted_both_ways(sync: Sync):
    sync.hpc_rounds(0, 1)
    assert sync.pull().ok
    sync.hpc_rounds(1, 1)
    assert sync.pull().audit["data"][".events.log"]["changed"] is True
    sync.local_overlay()
    pushed = sync.push()
    assert pushed.ok and pushed.audit["data"][".events.log"]["changed"] is True
    sync.assert_same_trees()


def test_missing_remote_log_is_divergence(sync: Sync):
    sync.hpc_rounds(0, 1)
    assert sync.pull().ok
    (sync.hpc / ".events.log").unlink()
    before = sync.fingerprint("before")
    for result in (sync.pull(), sync.push()):
        assert sync.refused(result, "diverged"), result.message
        assert sync.says(result, ".events.log is missing"), result.message
    sync.unchanged(before, "a refused command")
