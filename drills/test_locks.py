"""Locks: a busy dataset makes a sync wait or fail closed, naming the holder; nothing interleaves."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from usr_harness.engines import EngineResult
from usr_harness.pytest_plugin import make_drill_engine
from usr_harness.report.fingerprint import compare, fingerprint_tree

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
if len(sys.argv) > 3:
    os.makedirs(os.path.dirname(sys.argv[3]), exist_ok=True)
    with open(sys.argv[3], "wb") as out:
        out.write(b"written under the lock\\n")
"""
WRITTEN = "_artifacts/writer.txt"


def _hold(lock: Path, seconds: float, writes: Path | None = None) -> subprocess.Popen:
    """A dataset-layer writer (another process) holding the lock, as an HPC job or a notebook would;
    with `writes`, it writes that file just before it lets go, as a job's last step."""
    extra = [] if writes is None else [str(writes)]
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(lock), str(seconds), *extra], stdout=subprocess.PIPE
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
    """The remote writer holds the lock for three seconds and writes its last file just before letting go:
    an engine that waits pulls it; one that ignores the lock pulls the dataset without it (and while
    it is being written). An engine without --lock-timeout is run with its own default wait; failing
    closed as `lock`, changing nothing, is also within the runbook."""
    sync.hpc_rounds(0, 1)
    assert sync.pull().ok
    sync.hpc_rounds(1, 1)
    flags = ("--lock-timeout", "20") if sync.has("lock-timeout") else ()
    before = sync.prints()
    writer = _hold(sync.hpc / ".usr.lock", 3.0, writes=sync.hpc / WRITTEN)
    try:
        result = sync.pull(*flags)
    finally:
        writer.wait()
    if not result.ok and not flags:
        assert sync.refused(result, "lock"), result.message
        sync.unchanged(before, "a pull refused for the lock")
        return
    assert result.ok, result.message
    assert (sync.local / WRITTEN).is_file(), "the pull did not wait for the writer holding the lock"
    sync.assert_same_trees()


def _second_laptop(sync: Sync, config: pytest.Config, tmp_path: Path) -> Sync:
    engine = make_drill_engine(config, tmp_path / "laptop-b", sync.remote, tmp_path / "engine-b")
    return Sync(engine, sync.remote, sync.record, sync.rows_per_round)


def test_concurrent_pushes_never_interleave(sync: Sync, request: pytest.FixtureRequest, tmp_path: Path):
    """Two laptops, each with its own new overlay part, push to one remote at the same moment (both
    wait on a writer's lock, then race): each push has work, so none may say NO-OP; one wins, the other
    fails closed (lock, or diverged: both event logs grew), and the remote is the winner's whole
    dataset, settled."""
    other = _second_laptop(sync, request.config, tmp_path)
    sync.hpc_rounds(0, 1)
    assert sync.pull().ok and other.pull().ok
    sync.local_overlay(seed_offset=1)
    other.local_overlay(seed_offset=2)
    flags = ("--lock-timeout", "20") if sync.has("lock-timeout") else ()
    writer = _hold(sync.hpc / ".usr.lock", 3.0)
    results: dict[str, EngineResult] = {}
    laptops = {"a": sync, "b": other}

    def push(name: str) -> None:
        results[name] = laptops[name].engine.push(DATASET, REMOTE, *flags, env={})

    threads = [threading.Thread(target=push, args=(name,)) for name in laptops]
    for thread in threads:
        thread.start()
    writer.wait()
    for thread in threads:
        thread.join()
    for name, result in results.items():
        sync.record.add_evidence(f"push-{name}", result.evidence())
    states = {name: result.transfer_state for name, result in results.items()}
    assert "NO-OP" not in states.values(), f"a push with work said NO-OP: {states}"
    winners = [name for name, result in results.items() if result.ok]
    assert len(winners) == 1, f"expected one push to win and the other to fail closed: {states}"
    loser = results["b" if winners == ["a"] else "a"]
    assert sync.refused(loser, "lock") or sync.refused(loser, "diverged"), loser.message
    winner = laptops[winners[0]]
    differences = compare(fingerprint_tree(winner.local), fingerprint_tree(winner.hpc))
    assert differences.is_empty, f"the remote is not the winner's whole dataset: {differences.lines()[:10]}"
    now = {side: state.leftovers for side, state in sync.prints()._asdict().items() if state.leftovers}
    assert not now, f"runtime files left in the wrong state: {now}"
