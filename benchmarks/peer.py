"""The same loop steps run by another `usr` engine (the upstream one) on the same sshd and files.

`--peer PATH` (or `$USR_PEER_ENGINE`) names that engine's `usr` executable; it is driven through
the harness's engine adapter and its `upstream` profile, exactly as the drills drive it: its
own datasets root, its own remote folder on the same loopback sshd, its ssh reading a Host
alias from a HOME of its own. Each step runs right after the loop measured ours, on copies of
the very dataset state the loop ended with, and must succeed with nothing to move (a diff of
identical sides, no-op pull and push) or move the one part it is given; a failed step stops
the run rather than print a figure for a command that did not do its job.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.datasets import BuiltDataset
from benchmarks.loop import Series, attach_part
from benchmarks.measure import BenchError, Run
from benchmarks.workspace import Workspace
from usr_harness.dataset.layout import REGISTRY_FILE
from usr_harness.engines.adapter import Engine, EngineResult, make_engine

PEER_ENV = "USR_PEER_ENGINE"
PEER_PROFILE = "upstream"
PEER_REMOTE = "bench"
PEER_STEPS = ("diff", "noop_pull", "noop_push", "push_part")


def peer_command(given: Path | None) -> Path | None:
    """The peer's `usr` from `--peer`, else `$USR_PEER_ENGINE`, else None (the rows are left out)."""
    chosen = given or (Path(os.environ[PEER_ENV]) if os.environ.get(PEER_ENV) else None)
    if chosen is not None and not os.access(chosen, os.X_OK):
        raise BenchError(f"--peer {chosen}: not an executable")
    return chosen


def measure_peer(ws: Workspace, built: BuiltDataset, repeats: int, command: Path) -> Series:
    """`peer.<step>` runs, `repeats` of each, on two copies of the loop's final remote dataset (the
    loop ends in sync), made alike down to mtimes: the peer compares them."""
    name = built.spec.name
    local, remote = ws.workdir / "peer-local", ws.workdir / "peer-remote"
    for root in (local, remote):
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir()
        shutil.copy2(ws.remote_root / REGISTRY_FILE, root / REGISTRY_FILE)
        shutil.copytree(ws.remote_root / name, root / name)
    engine = make_engine(
        local,
        profile=PEER_PROFILE,
        engine_cmd=str(command),
        remote=ws.sshd.remote_spec(PEER_REMOTE, base_dir=remote),
        workdir=ws.workdir / "peer-work",
    )
    series: Series = {f"peer.{step}": [] for step in PEER_STEPS}
    for _ in range(repeats):
        series["peer.diff"].append(timed(lambda: engine.diff(name, PEER_REMOTE), "diff", expect="up to date"))
    for _ in range(repeats):
        series["peer.noop_pull"].append(timed(lambda: engine.pull(name, PEER_REMOTE), "no-op pull", "NO-OP"))
    for _ in range(repeats):
        series["peer.noop_push"].append(timed(lambda: engine.push(name, PEER_REMOTE), "no-op push", "NO-OP"))
    for index in range(repeats):
        attach_part(local, built, "peer-push", index)
        pushed = timed(lambda: engine.push(name, PEER_REMOTE), "push of one part", "TRANSFERRED")
        series["peer.push_part"].append(pushed)
    _check_in_sync(engine, name)
    return series


def timed(call: Callable[[], EngineResult], step: str, expect: str) -> Run:
    """One peer command, timed; it must succeed and its audit (where it writes one) show `expect`."""
    started = time.perf_counter()
    result = call()
    seconds = time.perf_counter() - started
    if not result.ok:
        raise BenchError(f"peer {step}: {result.outcome()}")
    if expect == "up to date" and result.up_to_date is False:
        raise BenchError(f"peer {step}: identical sides reported as changed: {result.outcome()}")
    if expect != "up to date" and result.transfer_state not in (None, expect):
        raise BenchError(f"peer {step}: expected {expect}: {result.outcome()}")
    return Run(seconds, None, 0, result.stdout)


def _check_in_sync(engine: Engine, name: str) -> None:
    """After the part pushes the peer's two copies must be identical, as the peer's own diff says."""
    result = engine.diff(name, PEER_REMOTE)
    if not result.ok or result.up_to_date is False:
        raise BenchError(f"peer: the pushed parts did not land: {result.outcome()}")
