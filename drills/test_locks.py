"""Locks: a busy dataset makes a sync wait or fail closed, naming the holder; nothing interleaves."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from .conftest import DATASET, REMOTE, Sync

pytestmark = [
    pytest.mark.drill,
    pytest.mark.ssh,
    pytest.mark.enforces("docs/operations/sync/hpc-agent-flow.md#failure-handling", "H-lock-wait"),
]

HOLDER = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
os.ftruncate(fd, 0); os.write(fd, b"host=writer pid=%d\\n" % os.getpid())
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


def _hold(lock: Path, seconds: float) -> subprocess.Popen:
    """A dataset-layer writer (another process) holding the lock, as an HPC job or a notebook would."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(lock), str(seconds)], stdout=subprocess.PIPE
    )
    assert process.stdout.readline().strip() == b"held"
    return process


@pytest.mark.parametrize("side", ["local", "remote"])
def test_busy_dataset_fails_closed_naming_the_holder(sync: Sync, side: str):
    sync.require("lock-timeout")
    sync.hpc_rounds(0, 1)
    assert sync.pull().ok
    sync.hpc_rounds(1, 1)
    writer = _hold((sync.local if side == "local" else sync.hpc) / ".usr.lock", 30)
    try:
        before = sync.fingerprint("before")
        result = sync.pull("--lock-timeout", "0.5")
        assert sync.refused(result, "lock"), result.message
        assert sync.says(result, f"pid={writer.pid}"), result.message
        sync.unchanged(before, "a pull refused for the lock")
    finally:
        writer.kill()
        writer.wait()
    assert sync.pull().ok
    sync.assert_same_trees()


def test_sync_waits_for_a_short_writer(sync: Sync):
    sync.require("lock-timeout")
    sync.hpc_rounds(0, 1)
    assert sync.pull().ok
    sync.hpc_rounds(1, 1)
    writer = _hold(sync.hpc / ".usr.lock", 1.0)
    try:
        result = sync.pull("--lock-timeout", "20")
    finally:
        writer.wait()
    assert result.ok, result.message
    sync.assert_same_trees()


def test_concurrent_pushes_never_interleave(sync: Sync):
    sync.hpc_rounds(0, 1)
    assert sync.pull().ok
    sync.local_overlay()
    results = []
    flags = ("--lock-timeout", "0") if sync.has("lock-timeout") else ()
    push = lambda: results.append(sync.engine.push(DATASET, REMOTE, *flags, env={}))  # noqa: E731
    threads = [threading.Thread(target=push) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for number, result in enumerate(results):
        sync.record.add_evidence(f"push-{number}", result.evidence())
    families = sorted(str(r.family) for r in results)
    assert any(r.ok for r in results), [r.message for r in results]
    assert all(r.ok or sync.refused(r, "lock") or sync.refused(r, "diverged") for r in results), families
    assert sync.diff().up_to_date is True
    sync.assert_same_trees()
