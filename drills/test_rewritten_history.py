"""A rewritten event log is never an extension: same length, other bytes is a branched history.

Both sides synced, then one side's log is rewritten in place to the same length (one digit
of its first line changes) and new work is appended after it, so by length alone the
rewritten log still looks like it extends the other. `diff` must see the change; `pull`
and `push`, dry runs included, must refuse it (`events` or `diverged`) before any byte is
staged, leaving both datasets roots as they were. Where the engine has fault points, the
point before staging is armed: reaching it means the engine began a transfer it should
have refused, and the refusal it then gives is for the fault, not the history.
"""

from __future__ import annotations

import pytest

from usr_harness.faults.points import armed_env

from .conftest import Sync

pytestmark = [pytest.mark.drill, pytest.mark.ssh, pytest.mark.enforces("H-events-only-grow")]

HISTORY_FAMILIES = ("events", "diverged")


def _rewrite_same_length(path) -> None:
    """One digit of the first (shared) line changes: the log keeps its length, not its bytes."""
    data = path.read_bytes()
    index = next(i for i, byte in enumerate(data) if chr(byte).isdigit())
    digit = b"1" if data[index : index + 1] != b"1" else b"2"
    path.write_bytes(data[:index] + digit + data[index + 1 :])


def _synced(sync: Sync) -> None:
    sync.hpc_rounds(0, 2)
    assert sync.pull().ok


def test_diff_sees_a_same_length_rewrite(sync: Sync):
    _synced(sync)
    _rewrite_same_length(sync.hpc / ".events.log")
    before = sync.root_prints()
    result = sync.diff()
    assert result.ok, result.message
    assert result.up_to_date is False, "diff called a rewritten event log up to date"
    if result.audit is not None and ".events.log" in result.data:
        assert result.data[".events.log"]["changed"] is True, result.data[".events.log"]
    assert sync.root_prints() == before


@pytest.mark.parametrize("dry_run", [False, True], ids=["run", "dry-run"])
@pytest.mark.parametrize("action", ["pull", "push"])
def test_rewritten_then_extended_log_is_refused_before_staging(sync: Sync, action: str, dry_run: bool):
    _synced(sync)
    if action == "pull":
        _rewrite_same_length(sync.hpc / ".events.log")
        sync.hpc_rounds(2, 1)
    else:
        _rewrite_same_length(sync.local / ".events.log")
        sync.local_overlay()
    flags = ("--dry-run",) if dry_run else ()
    env = armed_env("before-staging:raise") if sync.has("fault-points") else None
    before = sync.root_prints()
    result = sync.pull(*flags, env=env) if action == "pull" else sync.push(*flags, env=env)
    state = result.transfer_state or f"exit {result.exit_code}"
    said = result.message.strip()[-300:]
    assert any(sync.refused(result, family) for family in HISTORY_FAMILIES), (
        f"{action} {' '.join(flags)} did not refuse a rewritten history ({state}): {said}"
    )
    assert sync.root_prints() == before, "a refused sync of a rewritten history changed a side"
