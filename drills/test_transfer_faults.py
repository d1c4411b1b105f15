"""Transfer faults: a relay that cuts the SSH stream at a seeded byte, and named fault points.

Right after the failed command, both roots are judged as the engine owns them (`report/owned.py`):
the source side is unchanged byte for byte, the target side is wholly old (its sync state too)
or its dataset wholly new, and no stage, journal, temp file or held lock is left on either side.
The clean rerun then ends with both datasets identical and settled.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from usr_harness.faults.points import POINTS, armed_env
from usr_harness.faults.relay import CLIENT_TO_SERVER, SERVER_TO_CLIENT, FaultRelay, RelayPlan, relay_spec
from usr_harness.report.fingerprint import fingerprint_tree

from .conftest import Sides, Sync

pytestmark = [
    pytest.mark.drill,
    pytest.mark.ssh,
    pytest.mark.fault,
    pytest.mark.enforces("docs/operations/sync/audit-loop.md#failure-handling", "H-failure-changes-nothing"),
]


def _via(sync: Sync, relay: FaultRelay, tmp_path: Path, command):
    """Run one engine command with the remote reached through `relay` (host key filed under its port)."""
    saved = sync.engine.remote
    sync.engine.remote = relay_spec(saved, relay, tmp_path / "relay_known_hosts")
    try:
        return command()
    finally:
        sync.engine.remote = saved


def _after_failure(sync: Sync, old: Sides, action: str, point: str) -> None:
    """The state right after the failure: source unchanged, target wholly old or wholly new, settled.

    A failure inside promotion may leave the target torn with its journal, as a kill would: the
    contract has the next writer complete it (the rerun below must), so only the source side and
    the target's locks are judged there.
    """
    source, target = ("remote", "local") if action == "pull" else ("local", "remote")
    new = sync.local if action == "pull" else sync.hpc
    wholly_new = fingerprint_tree(sync.local).digest == fingerprint_tree(sync.hpc).digest
    now = sync.prints()
    held = [line for line in getattr(now, target).leftovers if line.startswith("lock still held")]
    assert not held, f"a failed {action} left its lock held: {held}"
    if point == "mid-promotion":
        before = old._replace(**{target: getattr(now, target)})
        sync.record.add_evidence("after_failure", f"{target} side torn mid-promotion, left to the rerun")
    elif wholly_new and not getattr(now, target).leftovers:
        before = old._replace(**{target: getattr(now, target)})
        sync.record.add_evidence("after_failure", f"{new.name} on the {target} side is wholly new")
    else:
        before = old
    sync.unchanged(before, f"a failed {action} ({source} -> {target})")


@pytest.mark.parametrize("action", ["pull", "push"])
def test_relay_cut_at_seeded_offset_leaves_wholly_old_or_new(sync: Sync, action: str, tmp_path: Path):
    sync.synced_then_new_work(action)
    old = sync.prints()
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
    # The remote program learns of the cut from its closed stream: a few seconds to exit and unlock.
    sync.unchanged(old, "a cut transfer", settle=5.0)
    clean = sync.pull() if action == "pull" else sync.push()
    assert clean.ok, clean.message
    sync.assert_same_trees()


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
    old = sync.prints()
    env = armed_env(f"{point}:raise")
    failed = sync.pull(env=env) if action == "pull" else sync.push(env=env)
    assert not failed.ok
    assert failed.transfer_state == "FAILED"
    _after_failure(sync, old, action, point)
    clean = sync.pull() if action == "pull" else sync.push()
    assert clean.ok, clean.message
    sync.assert_same_trees()
