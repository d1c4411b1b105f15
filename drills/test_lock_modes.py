"""A push writes, so it needs the remote dataset lock alone: a reader's shared hold stops it, and of
two laptops pushing at once one wins and the other fails closed.

A process holding the remote `.usr.lock` shared (a reader: a notebook, a pull) must make a
push fail `lock` having sent nothing: the remote root is as it was, stages included.
Two local roots that pulled the same base each attach their own overlay part and push at
the same moment: one push lands, the other fails closed (`lock`, or `diverged`/`events`
when it ran second and found the other's history), and the remote dataset is byte for byte
one laptop's whole dataset, never a mix. Where the engine has fault points, the overlap is
forced (one push held with the lock taken and its plan made while the other runs), so the
lock is what is judged, not a re-check after it, and the held push is the one that lands.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from usr_harness.engines import EngineResult, RunningCommand
from usr_harness.faults.points import armed_env
from usr_harness.hosts.processes import process_state
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
INTERRUPT_GRACE_SECONDS = 30.0
"""How long a push without --lock-timeout is watched while the reader holds the lock."""
HELD_AT = "before-staging"
"""Where laptop a's push is held while laptop b pushes: locked and planned, nothing staged yet."""


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
        # Stopped as a person stops a waiting command, Ctrl-C: it may clean up its own lease.
        running.process.send_signal(signal.SIGINT)
        sync.record.add_evidence("push_interrupted", running.finish(INTERRUPT_GRACE_SECONDS).evidence())
        return
    result = running.finish()
    sync.record.add_evidence("push", result.evidence())
    assert reader.poll() is None, "the reader let go before the push ended: the drill proves nothing"
    assert sync.refused(result, "lock"), result.message


@pytest.mark.fault
def test_two_laptops_pushing_at_once_leave_one_whole_version(
    sync: Sync, drill_remote, request: pytest.FixtureRequest, tmp_path: Path
):
    """An engine with fault points and --lock-timeout is judged on a forced overlap: laptop a's push
    held once it has locked and planned, before it stages, while laptop b pushes (a stage would
    already stop b in the remote's recovery check, which is not the lock this drill is about).
    Another engine is judged on two pushes started at the same moment, which may run one after
    the other."""
    laptop_b = make_drill_engine(request.config, tmp_path / "laptop-b", drill_remote, tmp_path / "engine-b")
    other = Sync(laptop_b, drill_remote, sync.record, sync.rows_per_round)
    sync.hpc_rounds(0, 1)
    for laptop in (sync, other):
        assert laptop.pull().ok
        laptop.local_overlay(seed_offset=1 if laptop is other else 0)
    locals_before = {name: fingerprint_tree(s.local) for name, s in (("a", sync), ("b", other))}
    forced = sync.has("fault-points") and sync.has("lock-timeout")
    sync.record.add_evidence("overlap", "forced" if forced else "two pushes started at once")
    results = _second_push_while_first_holds(sync, other) if forced else _pushes_at_once(sync, other)
    winners = [name for name, result in zip("ab", results, strict=True) if result.ok]
    assert len(winners) == 1, (
        f"{len(winners)} of two concurrent pushes succeeded: {[r.message for r in results]}"
    )
    loser = results["ab".index("b" if winners == ["a"] else "a")]
    families = ("lock",) if forced else ("lock", "diverged", "events")
    assert any(sync.refused(loser, family) for family in families), loser.message
    remote = fingerprint_tree(sync.hpc)
    differences = compare(locals_before[winners[0]], remote)
    assert differences.is_empty, (
        f"the remote is not laptop {winners[0]}'s whole dataset: {differences.as_dict()}"
    )
    for name, laptop in (("a", sync), ("b", other)):
        assert fingerprint_tree(laptop.local) == locals_before[name], f"laptop {name} changed by its push"


def _pushes_at_once(sync: Sync, other: Sync) -> list[EngineResult]:
    flags = ("--lock-timeout", "0") if sync.has("lock-timeout") else ()
    running = [s.engine.start("push", DATASET, REMOTE, "-y", *flags, audit=True) for s in (sync, other)]
    results = [command.finish() for command in running]
    for name, result in zip("ab", results, strict=True):
        sync.record.add_evidence(f"push-{name}", result.evidence())
    return results


def _second_push_while_first_holds(sync: Sync, other: Sync) -> list[EngineResult]:
    """Laptop a's push stops holding the remote lock with its plan made; laptop b pushes then, and
    must fail `lock` having changed nothing on the remote while a is still held; a then goes on."""
    first = sync.engine.start("push", DATASET, REMOTE, "-y", audit=True, env=armed_env(f"{HELD_AT}:stop"))
    _wait_stopped(first, HELD_AT)
    try:
        before = _everything(sync.remote_root)
        second = other.engine.push(DATASET, REMOTE, "--lock-timeout", "0", env={})
        sync.record.add_evidence("push-b", second.evidence())
        assert process_state(first.pid) == "T", "laptop a's push went on before b's ended: no overlap"
        assert sync.refused(second, "lock"), f"laptop b's push while a held the lock: {second.message}"
        changed = _changed(before, _everything(sync.remote_root))
        assert not changed, f"laptop b's push changed the remote while a held its lock: {changed}"
    finally:
        os.kill(first.pid, signal.SIGCONT)
        held = first.finish()
        sync.record.add_evidence("push-a", held.evidence())
    return [held, second]


def _wait_stopped(running: RunningCommand, point: str) -> None:
    end = time.monotonic() + 60
    while process_state(running.pid) != "T":
        if running.process.poll() is not None or time.monotonic() > end:
            pytest.fail(f"the push never stopped at {point}: {running.finish().message}")
        time.sleep(0.02)
