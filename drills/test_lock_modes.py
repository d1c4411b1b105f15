"""A push writes, so it needs the remote dataset lock alone: a reader's shared hold stops it, and of
two laptops pushing at once one wins and the other fails closed.

A process holding the remote `.usr.lock` shared (a reader: a notebook, a pull) must make a
push fail `lock` having sent nothing: the remote root is as it was, stages included.
Two local roots that pulled the same base each attach their own overlay part and push at
the same moment: one push lands, the other fails closed (`lock`, or `diverged`/`events`
when it ran second and found the other's history), and the remote dataset is byte for byte
one laptop's whole dataset, never a mix.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from usr_harness.pytest_plugin import make_drill_engine
from usr_harness.report.fingerprint import compare, fingerprint_tree

from .conftest import DATASET, REMOTE, Sync

pytestmark = [pytest.mark.drill, pytest.mark.ssh, pytest.mark.enforces("H-lock-wait")]

READER = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_SH)
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""
HOLD_SECONDS = 60.0
WAIT_SECONDS = 8.0
"""How long a push without --lock-timeout is watched while the reader holds the lock."""


def _lock_flags(sync: Sync) -> tuple[str, ...]:
    return ("--lock-timeout", "0.5") if sync.has("lock-timeout") else ()


def _everything(root: Path):
    return fingerprint_tree(root, exclude_runtime=False)


def _changed(before, after) -> list[str]:
    """What a command changed in a root: its dataset, stages and journals; the engine's state folder
    (`.usr-sync/`: hash caches) and lock files' holder lines aside."""
    differences = compare(before, after)
    paths = [e.path for e in (*differences.added, *differences.removed)] + [
        c.path for c in differences.changed
    ]
    return [p for p in paths if not p.endswith(".lock") and p.split("/", 1)[0] != ".usr-sync"]


def test_a_reader_holding_the_remote_lock_shared_stops_a_push(sync: Sync):
    """With --lock-timeout the push must fail `lock`; an engine without it waits its own time, which
    may outlive the reader: it is judged on sending nothing while the reader holds the lock, then on
    landing once the reader is gone."""
    sync.hpc_rounds(0, 1)
    assert sync.pull().ok
    sync.local_overlay()
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(sync.hpc / ".usr.lock"), str(HOLD_SECONDS)], stdout=subprocess.PIPE
    )
    try:
        assert reader.stdout.readline().strip() == b"held"
        before = _everything(sync.remote_root)
        if sync.has("lock-timeout"):
            result = sync.push("--lock-timeout", "0.5")
            assert reader.poll() is None, "the reader let go before the push ended: the drill proves nothing"
            assert sync.refused(result, "lock"), result.message
        else:
            _push_while_held(sync, reader)
        changed = _changed(before, _everything(sync.remote_root))
        assert not changed, f"a push the reader's lock should stop changed the remote: {changed}"
    finally:
        reader.kill()
        reader.wait()
    landed = sync.push()
    assert landed.ok, f"the push failed once the reader was gone: {landed.message}"
    sync.assert_same_trees()


def _push_while_held(sync: Sync, reader: subprocess.Popen) -> None:
    """Start the push and give it `WAIT_SECONDS` while the reader holds the lock: it must have
    refused (`lock`) by then, or still be waiting (it honours the reader's lock; it is stopped)."""
    running = sync.engine.start("push", DATASET, REMOTE, "-y", audit=True)
    end = time.monotonic() + WAIT_SECONDS
    while running.process.poll() is None and time.monotonic() < end:
        time.sleep(0.1)
    if running.process.poll() is None:
        sync.record.add_evidence("push_waiting", f"still waiting for the lock after {WAIT_SECONDS} s")
        running.process.kill()
        running.finish()
        return
    result = running.finish()
    sync.record.add_evidence("push", result.evidence())
    assert reader.poll() is None, "the reader let go before the push ended: the drill proves nothing"
    assert sync.refused(result, "lock"), result.message


def test_two_laptops_pushing_at_once_leave_one_whole_version(
    sync: Sync, drill_remote, request: pytest.FixtureRequest, tmp_path: Path
):
    laptop_b = make_drill_engine(request.config, tmp_path / "laptop-b", drill_remote, tmp_path / "engine-b")
    other = Sync(laptop_b, drill_remote, sync.record, sync.rows_per_round)
    sync.hpc_rounds(0, 1)
    for laptop in (sync, other):
        assert laptop.pull().ok
        laptop.local_overlay(seed_offset=1 if laptop is other else 0)
    locals_before = {name: fingerprint_tree(s.local) for name, s in (("a", sync), ("b", other))}
    flags = ("--lock-timeout", "0") if sync.has("lock-timeout") else ()
    running = [s.engine.start("push", DATASET, REMOTE, "-y", *flags, audit=True) for s in (sync, other)]
    results = [command.finish() for command in running]
    for name, result in zip("ab", results, strict=True):
        sync.record.add_evidence(f"push-{name}", result.evidence())
    winners = [name for name, result in zip("ab", results, strict=True) if result.ok]
    assert len(winners) == 1, (
        f"{len(winners)} of two concurrent pushes succeeded: {[r.message for r in results]}"
    )
    loser = results["ab".index("b" if winners == ["a"] else "a")]
    assert any(sync.refused(loser, family) for family in ("lock", "diverged", "events")), loser.message
    remote = fingerprint_tree(sync.hpc)
    differences = compare(locals_before[winners[0]], remote)
    assert differences.is_empty, (
        f"the remote is not laptop {winners[0]}'s whole dataset: {differences.as_dict()}"
    )
    for name, laptop in (("a", sync), ("b", other)):
        assert fingerprint_tree(laptop.local) == locals_before[name], f"laptop {name} changed by its push"
