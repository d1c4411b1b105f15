"""Transfer faults: a relay that cuts the SSH stream at a seeded byte, and named fault points.

Whatever breaks, the next clean command finds both trees wholly old or wholly
new, and no staging is left on either side.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from usr_harness.faults.points import POINTS, armed_env
from usr_harness.faults.relay import CLIENT_TO_SERVER, SERVER_TO_CLIENT, FaultRelay, RelayPlan, relay_spec

from .conftest import Sync

pytestmark = [
    pytest.mark.drill,
    pytest.mark.ssh,
    pytest.mark.fault,
    pytest.mark.enforces("docs/operations/sync/audit-loop.md#failure-handling", "H-failure-changes-nothing"),
]


def _no_staging(root: Path) -> bool:
    return not [n for n in os.listdir(root) if ".usr-stage-" in n or ".usr-promote-" in n]


def _via(sync: Sync, relay: FaultRelay, tmp_path: Path, command):
    """Run one engine command with the remote reached through `relay` (host key filed under its port)."""
    saved = sync.engine.remote
    sync.engine.remote = relay_spec(saved, relay, tmp_path / "relay_known_hosts")
    try:
        return command()
    finally:
        sync.engine.remote = saved


def _states(sync: Sync):
    return sync.prints()


@pytest.mark.parametrize("action", ["pull", "push"])
def test_relay_cut_at_seeded_offset_leaves_wholly_old_or_new(sync: Sync, action: str, tmp_path: Path):
    sync.synced_then_new_work(action)
    old = _states(sync)
    port = sync.remote.spec.port
    direction = SERVER_TO_CLIENT if action == "pull" else CLIENT_TO_SERVER
    with FaultRelay("127.0.0.1", port) as probe:
        assert _via(sync, probe, tmp_path, lambda: sync.diff()).ok
        counted = probe.stats
    baseline = counted.server_to_client if direction == SERVER_TO_CLIENT else counted.client_to_server
    payload = sum(
        p.stat().st_size for p in (sync.hpc if action == "pull" else sync.local).rglob("*") if p.is_file()
    )
    plan = RelayPlan.from_seed(
        sync.record.seed, "cut", min_bytes=baseline, max_bytes=baseline + payload // 2, direction=direction
    )
    sync.record.add_evidence("relay_plan", plan.as_dict())
    with FaultRelay("127.0.0.1", port, plan=plan) as relay:
        broken = _via(sync, relay, tmp_path, lambda: sync.pull() if action == "pull" else sync.push())
        stats = relay.stats
    sync.record.add_evidence("relay_stats", stats.as_dict())
    assert stats.fired, "the transfer finished before the seeded offset; raise min_bytes"
    assert broken.family in ("transport", "auth"), broken.message
    mid = _states(sync)
    assert mid == old, "a cut transfer changed a side before the next command"
    clean = sync.pull() if action == "pull" else sync.push()
    assert clean.ok, clean.message
    sync.assert_same_trees()
    assert _no_staging(sync.local_root) and _no_staging(sync.remote_root)


@pytest.mark.parametrize("point", POINTS)
@pytest.mark.parametrize("action", ["pull", "push"])
def test_fault_points_raise_and_recover(sync: Sync, action: str, point: str):
    sync.require("fault-points")
    sync.hpc_rounds(0, 1)
    assert sync.pull().ok
    if action == "pull":
        sync.hpc_rounds(1, 1)
    else:
        sync.local_overlay()
    old = _states(sync)
    env = armed_env(f"{point}:raise")
    failed = sync.pull(env=env) if action == "pull" else sync.push(env=env)
    assert not failed.ok
    assert failed.transfer_state == "FAILED"
    clean = sync.pull() if action == "pull" else sync.push()
    assert clean.ok, clean.message
    sync.assert_same_trees()
    if point in ("before-staging", "mid-transfer", "after-staging"):
        assert _states(sync)[0 if action == "push" else 1] == old[0 if action == "push" else 1]
    assert _no_staging(sync.local_root) and _no_staging(sync.remote_root)
