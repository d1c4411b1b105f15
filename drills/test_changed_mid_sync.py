"""Bytes that change while a sync runs are never taken on trust.

A push is held (fault point) after its plan, before it uploads; the laptop's event log then
changes one digit of its last line (same size, still valid lines). What arrives on the
remote no longer matches the manifest the push planned with: it must be refused and the
remote left as it was. And a push or pull held after its promotion, before its post-verify,
while another writer changes the side it wrote: the re-diff (`post-push` / `post-pull`) must
refuse, so no run calls that state in sync.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from usr_harness.engines import EngineResult
from usr_harness.faults.points import armed_env
from usr_harness.hosts.processes import process_state
from usr_harness.report.fingerprint import compare, fingerprint_tree

from .conftest import DATASET, REMOTE, Sync

pytestmark = [
    pytest.mark.drill,
    pytest.mark.ssh,
    pytest.mark.fault,
    pytest.mark.enforces("docs/operations/sync/README.md#default-sync-contract", "H-failure-changes-nothing"),
]

EVENTS = ".events.log"


def _flip_last_digit(path: Path) -> None:
    data = bytearray(path.read_bytes())
    index = max(i for i, byte in enumerate(data) if chr(byte).isdigit())
    data[index] = ord("1") if data[index] != ord("1") else ord("2")
    path.write_bytes(bytes(data))


def _held_then(sync: Sync, action: str, point: str, edit) -> EngineResult:
    """Run `action` until it stops at `point`, call `edit`, let it go on; its result."""
    running = sync.engine.start(action, DATASET, REMOTE, "-y", audit=True, env=armed_env(f"{point}:stop"))
    end = time.monotonic() + 60
    while process_state(running.pid) != "T":
        if running.process.poll() is not None or time.monotonic() > end:
            pytest.fail(f"the {action} never stopped at {point}: {running.finish().message}")
        time.sleep(0.02)
    try:
        edit()
    finally:
        os.kill(running.pid, signal.SIGCONT)
    result = running.finish()
    sync.record.add_evidence(f"{action}-held-at-{point}", result.evidence())
    return result


def test_a_file_changed_during_a_push_is_not_promoted(sync: Sync):
    sync.require("fault-points")
    sync.hpc_rounds(0, 1)
    assert sync.pull().ok
    sync.local_overlay()
    remote_before = fingerprint_tree(sync.hpc)
    result = _held_then(sync, "push", "before-staging", lambda: _flip_last_digit(sync.local / EVENTS))
    assert any(sync.refused(result, f) for f in ("verify", "sidecars", "events")), result.message
    changed = compare(remote_before, fingerprint_tree(sync.hpc))
    assert changed.is_empty, f"a push of bytes that changed mid-push changed the remote: {changed.as_dict()}"


@pytest.mark.parametrize("action", ["pull", "push"])
def test_a_target_changed_before_the_post_verify_is_refused(sync: Sync, action: str):
    sync.require("fault-points")
    sync.synced_then_new_work(action)
    target = sync.local if action == "pull" else sync.hpc
    result = _held_then(sync, action, "before-post-verify", lambda: _flip_last_digit(target / EVENTS))
    assert any(sync.refused(result, f) for f in ("verify", "sidecars")), result.message
    assert sync.says(result, f"post-{action}"), result.message
    assert sync.diff().up_to_date is False
