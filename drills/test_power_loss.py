"""Power loss during a pull or a push: the dataset is the old or the new version whole, whatever is kept.

A killed process loses nothing it wrote (the kernel writes its page cache back); a machine that loses
power keeps only what was fsynced, file by file and directory by directory. The side being written sits
on the power-cut layer (`usr_harness/powercut`, docs/powercut.md): the laptop's datasets root for a pull,
the remote's (served by the drill's sshd) for a push. The layer logs every write, rename and fsync of the
recorded sync; then, for each distinct state a cut after the k-th logged operation can leave (strict
POSIX, or names ahead of data), the cut is applied in place, as a reboot would leave the disk, and:

- after the engine's recovery (`usr recover` for a pull with the harness dataset layer; for a push the
  next command, `usr diff`, whose remote agent recovers a pending promotion), the dataset is the old
  version or the new one, whole;
- the base manifest (`.usr-sync/<remote>/<dataset>.json`, on the laptop) describes the dataset's files,
  or is still the one from before the sync (a sync not yet recorded, which the next sync repairs);
- a cut right after the sync returned success leaves the new version: what the engine reported as done
  is on disk;
- the next sync succeeds and leaves the new version on both sides.

A push cut models the remote losing power while the laptop keeps running: before the last cut point the
push cannot have reported success, so the laptop's `.usr-sync` is put back as it was before the push;
after it, as the push left it.

The recorded run moves several rounds (`ROUNDS`) so that it has more than 100 cut points; each distinct
state is checked up to `MAX_STATES`, a seeded sample of them beyond (`USR_POWERCUT_FULL=1` checks them
all; `USR_POWERCUT_STATES=N` a sample of N). A failed check names the cut point, the operations
before it and the command that reproduces it.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from usr_harness.mock.series import BatchSeries
from usr_harness.powercut import FuseUnavailable, Policy, PowerCutMount
from usr_harness.powercut.checks import CutChecker, SyncUnderCut, base_files, copy_sync_state, sweep
from usr_harness.powercut.sweep import CutRange, coverage, failure_message
from usr_harness.pytest_plugin import make_drill_engine, reproduce_of
from usr_harness.report.fingerprint import fingerprint_tree

from .conftest import DATASET, REMOTE, Sync

pytestmark = [pytest.mark.drill, pytest.mark.ssh, pytest.mark.fault, pytest.mark.enforces("H-crash-safe")]

ROUNDS = 8
"""Rounds the recorded sync moves: at the small scale more than 100 logged operations each way."""
MAX_STATES = {Policy.STRICT: 48, Policy.METADATA_AHEAD: 30}
"""Distinct cut states checked per run; past it a seeded sample (the last state always in it). Under
strict the bundled engine's run has about 37 states, so every cut point is checked; under
metadata-ahead nearly every operation is a state, and a sample keeps the drill under 90 s."""
FULL_SWEEP = "USR_POWERCUT_FULL"
"""Set to 1 to check every distinct state of the recorded run (the full sweep on demand)."""
STATES = "USR_POWERCUT_STATES"
"""Set to N to check a seeded sample of N states instead (an engine that takes half a minute a sync)."""


def _limits() -> dict[Policy, int | None]:
    """Read at import (collection): the suite's isolation removes every `USR_*` variable in a test."""
    if os.environ.get(STATES):
        return dict.fromkeys(Policy, max(2, int(os.environ[STATES])))
    return dict.fromkeys(Policy, None) if os.environ.get(FULL_SWEEP) == "1" else dict(MAX_STATES)


LIMITS = _limits()


def _start(layer: PowerCutMount, sync: Sync) -> None:
    try:
        layer.start()
    except FuseUnavailable as error:
        sync.record.add_evidence("unknown_because", error.reason)
        pytest.skip(f"unknown: {error}")


def _sweep(
    request: pytest.FixtureRequest,
    sync: Sync,
    layer: PowerCutMount,
    policy: Policy,
    run: Callable[[], SyncUnderCut],
) -> None:
    """Record one sync on the mounted layer, check the sample of its cut states, fail with the first."""
    started = time.monotonic()
    try:
        under_cut = run()
        ops = layer.operations()
        recorded = time.monotonic() - started
        checked = sweep(CutChecker(under_cut), ops, policy, LIMITS[policy], sync.record.seed)
    finally:
        layer.stop()
    failed: list[CutRange] = [cut for cut in checked if cut.problem is not None]
    sync.record.add_evidence(
        "power_loss",
        {
            "policy": str(policy),
            "direction": under_cut.direction,
            **coverage(checked, len(ops)),
            "operations": [op.describe() for op in ops],
            "cuts": [cut.as_dict() for cut in checked],
            "record_seconds": round(recorded, 2),
            "sweep_seconds": round(time.monotonic() - started - recorded, 2),
        },
    )
    if failed:
        reproduce = reproduce_of(request.config, request.node.nodeid)
        pytest.fail(failure_message(policy, ops, failed, reproduce))


@pytest.mark.timeout(1800)  # an engine that takes seconds per sync: up to MAX_STATES syncs
@pytest.mark.parametrize("policy", list(Policy), ids=str)
def test_a_pull_cut_by_power_loss_at_any_point_leaves_old_or_new_whole(
    sync: Sync, request: pytest.FixtureRequest, tmp_path: Path, policy: Policy
) -> None:
    sync.hpc_rounds(0, 1)
    assert sync.pull().ok
    old, old_base = fingerprint_tree(sync.local), base_files(sync.local_root, REMOTE, DATASET)
    sync.hpc_rounds(1, ROUNDS)
    new = fingerprint_tree(sync.hpc)
    layer = PowerCutMount(sync.local_root, tmp_path / "powercut-mnt", tmp_path / "powercut-log")
    _start(layer, sync)

    def pull() -> SyncUnderCut:
        on_layer = make_drill_engine(request.config, layer.mountpoint, sync.remote, tmp_path / "engine-layer")
        pulled = on_layer.pull(DATASET, REMOTE)
        assert pulled.ok, pulled.message
        written = on_layer.root / DATASET
        return SyncUnderCut(on_layer, layer, "pull", REMOTE, DATASET, written, old, old_base, new)

    _sweep(request, sync, layer, policy, pull)


@pytest.mark.timeout(1800)
@pytest.mark.parametrize("policy", list(Policy), ids=str)
def test_a_push_cut_by_power_loss_on_the_remote_leaves_old_or_new_whole(
    sync: Sync, request: pytest.FixtureRequest, tmp_path: Path, policy: Policy
) -> None:
    sync.hpc_rounds(0, 1)
    assert sync.pull().ok
    old, old_base = fingerprint_tree(sync.hpc), base_files(sync.local_root, REMOTE, DATASET)
    BatchSeries(sync.record.seed + 1, records_per_round=sync.rows_per_round).run(
        sync.local_root, DATASET, ROUNDS, first=1
    )
    new = fingerprint_tree(sync.local)
    laptop_before = copy_sync_state(sync.local_root, tmp_path / "laptop-usr-sync-before")
    # The remote's datasets root moves aside as the layer's backing; the layer is mounted where the
    # sshd's engine finds it (same user: the agent sees the mount).
    backing = tmp_path / "remote-backing"
    shutil.move(sync.remote_root, backing)
    sync.remote_root.mkdir()
    layer = PowerCutMount(backing, sync.remote_root, tmp_path / "powercut-log")
    _start(layer, sync)

    def push() -> SyncUnderCut:
        pushed = sync.engine.push(DATASET, REMOTE)
        assert pushed.ok, pushed.message
        laptop_after = copy_sync_state(sync.local_root, tmp_path / "laptop-usr-sync-after")
        under_cut = SyncUnderCut(sync.engine, layer, "push", REMOTE, DATASET, sync.hpc, old, old_base, new)
        under_cut.keep_laptop_states(laptop_before, laptop_after)
        return under_cut

    _sweep(request, sync, layer, policy, push)
