"""Crashes and races around promotion: nothing a writer wrote is ever lost, on either side.

A pull or push killed after committing its promotion leaves that side torn (half old,
half new) until it is rolled forward. These drills put a dataset in that state with
the named fault points, then act on it as the HPC job, the analyst and a second laptop
would, and fingerprint both trees to show which bytes survive. The last drill kills
the client or the remote side at seeded random moments and checks, each time, that the
source is untouched and the next run leaves both sides identical.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import time
from pathlib import Path

import pytest

from usr_harness.engines import Engine, EngineResult, RunningCommand
from usr_harness.faults.points import armed_env
from usr_harness.hosts.processes import command_line, descendants, parent_pid, process_state
from usr_harness.pytest_plugin import make_drill_engine
from usr_harness.report.fingerprint import compare, fingerprint_tree

from .conftest import DATASET, REMOTE, Sync

pytestmark = [
    pytest.mark.drill,
    pytest.mark.ssh,
    pytest.mark.enforces("docs/operations/sync/audit-loop.md#failure-handling", "H-crash-safe"),
]

SURVIVABLE = ("transport", "staging", "lock")
"""What a command may say when its other end was killed: never a verdict on the data or the keys."""
FOREIGN_LINE = b'{"note": "appended by a tool that never looked for a pending promotion"}\n'
MAX_RUNS_PER_KILL = 3
"""How many runs per asked kill the seeded-kills drill may make while its kills keep missing."""


def _log(dataset: Path) -> bytes:
    return (dataset / ".events.log").read_bytes()


def _journals(dataset: Path) -> list[Path]:
    return sorted(dataset.parent.glob(f".{dataset.name}.usr-promote-*"))


def _tear(sync: Sync, side: str) -> bytes:
    """Leave `side` mid-promotion (a kill after the journal); returns the event log being promoted."""
    sync.hpc_rounds(0, 1)
    assert sync.pull().ok
    if side == "remote":
        sync.local_overlay()
        promoted = _log(sync.local)
        killed = sync.push(env=armed_env("mid-promotion:kill"))
    else:
        sync.hpc_rounds(1, 1)
        promoted = _log(sync.hpc)
        killed = sync.pull(env=armed_env("mid-promotion:kill"))
    assert not killed.ok, killed.message
    torn = sync.hpc if side == "remote" else sync.local
    assert _journals(torn), f"the {side} side was not left mid-promotion: {killed.message}"
    return promoted


@pytest.mark.parametrize("side", ["remote", "local"])
def test_a_writer_on_a_torn_dataset_completes_the_promotion_before_it_writes(sync: Sync, side: str):
    sync.require("fault-points", "harness-dataset-layer")
    promoted = _tear(sync, side)
    if side == "remote":
        sync.hpc_rounds(1, 1)
        written = sync.hpc
    else:
        refused = sync.validate()
        assert sync.refused(refused, "staging") and sync.says(refused, "mid-promotion"), refused.message
        sync.local_overlay(seed_offset=7)
        written = sync.local
    log = _log(written)
    assert log.startswith(promoted) and len(log) > len(promoted), (
        "the writer's event follows the promoted log"
    )
    assert not _journals(written)
    synced = sync.pull() if side == "remote" else sync.push()
    assert synced.ok, synced.message
    sync.assert_same_trees()
    assert _log(sync.local) == log


@pytest.mark.parametrize("side", ["remote", "local"])
def test_bytes_written_behind_a_pending_journal_are_never_overwritten(sync: Sync, side: str):
    sync.require("fault-points")
    _tear(sync, side)
    torn = sync.hpc if side == "remote" else sync.local
    with (torn / ".events.log").open("ab") as handle:
        handle.write(FOREIGN_LINE)
    before = sync.root_prints()
    result = sync.diff()
    assert sync.refused(result, "staging"), result.message
    assert sync.says(result, "after it was written"), result.message
    after = sync.root_prints()
    for name in before:
        assert compare(before[name], after[name]).is_empty, name
    assert _log(torn).endswith(FOREIGN_LINE) and _journals(torn)


def _sshd_pid(drill_host) -> int:
    pid = getattr(drill_host, "pid", None)
    if pid is None:
        pytest.skip("the remote's processes are not visible from here (loopback provider only)")
    return pid


SHELLS = ("sh", "bash", "dash", "zsh", "ksh")


def _program(pid: int) -> str:
    return os.path.basename("".join(command_line(pid)[:1]))


def _remote_programs(sshd_pid: int) -> list[int]:
    """What the sshd sessions run, once the login shell has exec'd it, with everything below it.

    The login shell (and what its rc files start, such as a pyenv rehash holding a lock) is
    spared: killing it is a dropped login, not a crash of the engine's remote side.
    """
    below = descendants(sshd_pid)
    sessions = {pid for pid in below if _program(pid).startswith("sshd")}
    programs = [
        pid
        for pid in below
        if parent_pid(pid) in sessions
        and _program(pid) not in SHELLS
        and not _program(pid).startswith("sshd")
    ]
    return sorted({*programs, *(child for pid in programs for child in descendants(pid))})


def _wait_stopped(sshd_pid: int, holder: RunningCommand, deadline: float = 60.0) -> int:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        stopped = [pid for pid in descendants(sshd_pid) if process_state(pid) == "T"]
        if stopped:
            return stopped[0]
        if holder.process.poll() is not None:
            pytest.fail(f"the push ended before its promotion stopped: {holder.finish().message}")
        time.sleep(0.02)
    pytest.fail("the push's remote side never reached its promotion")


def test_a_push_that_cannot_lock_leaves_the_lock_holders_promotion_alone(
    sync: Sync, request: pytest.FixtureRequest, tmp_path: Path, drill_host
):
    sync.require("fault-points", "lock-timeout")
    sshd_pid = _sshd_pid(drill_host)
    sync.hpc_rounds(0, 1)
    assert sync.pull().ok
    laptop_b = make_drill_engine(request.config, tmp_path / "laptop-b", sync.remote, tmp_path / "engine-b")
    assert laptop_b.pull(DATASET, REMOTE).ok
    sync.local_overlay()
    holder = sync.engine.start("push", DATASET, REMOTE, "-y", audit=True, env=armed_env("mid-promotion:stop"))
    agent = _wait_stopped(sshd_pid, holder)
    try:
        before = fingerprint_tree(sync.remote_root)
        blocked = sync.call(
            "push-laptop-b", lambda: laptop_b.push(DATASET, REMOTE, "--lock-timeout", "0", env={})
        )
        assert sync.refused(blocked, "lock"), blocked.message
        assert compare(before, fingerprint_tree(sync.remote_root)).is_empty, (
            "the blocked push touched the remote"
        )
        assert _journals(sync.hpc), "the blocked push applied the lock holder's journal"
    finally:
        os.kill(agent, signal.SIGCONT)
    landed = holder.finish()
    assert landed.ok and landed.transfer_state == "TRANSFERRED", landed.message
    sync.assert_same_trees()


def _kill_at(running: RunningCommand, victim: str, delay: float, sshd_pid: int) -> bool:
    """SIGKILL the client, or the remote program, `delay` seconds in; False when the command ended first.

    A remote kill due while the login shell still runs waits for the program it starts.
    """
    end = time.monotonic() + delay
    while running.process.poll() is None:
        targets = [running.pid] if victim == "client" else _remote_programs(sshd_pid)
        if time.monotonic() >= end and targets:
            for pid in targets:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            return True
        time.sleep(0.005)
    return False


def _timed(engine: Engine, action: str) -> tuple[EngineResult, float]:
    started = time.monotonic()
    result = engine.start(action, DATASET, REMOTE, "-y", audit=True).finish()
    return result, time.monotonic() - started


@pytest.mark.slow
def test_seeded_kills_of_client_and_remote_side_lose_nothing(
    sync: Sync, request: pytest.FixtureRequest, drill_host
):
    """Each run: new work on the source, the command killed at a seeded fraction of its usual
    duration (the seed fixes the fractions and victims; the machine's speed decides what they hit),
    then the same command again. The source never changes and both sides end identical."""
    sshd_pid = _sshd_pid(drill_host)
    kills = request.config.getoption("--drill-kills")
    rng = random.Random(sync.record.seed)
    sync.hpc_rounds(0, 1)
    assert sync.pull().ok
    usual = {}
    for action in ("pull", "push"):
        if action == "pull":
            sync.hpc_rounds(1, 1)
        else:
            sync.local_overlay(seed_offset=1)
        result, usual[action] = _timed(sync.engine, action)
        assert result.ok, result.message
    hit = 0
    # A kill that misses (the command ended first, on a busy machine) judges nothing: more runs
    # follow, up to MAX_RUNS_PER_KILL times the asked number, until half the kills have landed.
    for run in range(kills * MAX_RUNS_PER_KILL):
        if run >= kills and hit >= kills // 2:
            break
        action, victim, fraction = (
            rng.choice(["pull", "push"]),
            rng.choice(["client", "remote"]),
            rng.random(),
        )
        if action == "pull":
            sync.hpc_rounds(2 + run, 1)
        else:
            sync.local_overlay(seed_offset=100 + run)
        source = sync.hpc if action == "pull" else sync.local
        kept = fingerprint_tree(source)
        running = sync.engine.start(action, DATASET, REMOTE, "-y", audit=True)
        killed = _kill_at(running, victim, fraction * usual[action], sshd_pid)
        outcome = running.finish()
        hit += killed
        again, _ = _timed(sync.engine, action)
        sync.record.add_evidence(
            f"kill-{run}",
            {"action": action, "victim": victim, "fraction": round(fraction, 4), "killed": killed}
            | {"killed_exit": outcome.exit_code, "killed_says": outcome.message[-400:]}
            | {"rerun_exit": again.exit_code, "rerun": again.message[-400:]},
        )
        if outcome.exit_code > 0 and sync.has("family-exit-codes"):
            assert outcome.family in SURVIVABLE, f"run {run}: killing the {victim}: {outcome.message}"
            assert len(outcome.stderr.strip().splitlines()) == 1, f"run {run}: {outcome.stderr}"
        assert again.ok, f"run {run}: {action} after killing the {victim}: {again.message}"
        assert compare(kept, fingerprint_tree(source)).is_empty, f"run {run}: the {action} source changed"
        differences = compare(fingerprint_tree(sync.local), fingerprint_tree(sync.hpc))
        assert differences.is_empty, f"run {run}: sides differ after {action}: {differences.as_dict()}"
    assert hit >= kills // 2, f"only {hit} of {run + 1} kills landed while the command ran"
