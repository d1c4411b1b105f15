"""The runbook's fidelity drills 1-3 and the chained diff -> pull -> push -> diff loop."""

from __future__ import annotations

import shutil

import pytest

from usr_harness.adversarial.catalogue import CATALOGUE
from usr_harness.report.fingerprint import fingerprint_tree

from .conftest import Sync
from .hostile_cases import drive_case

pytestmark = [pytest.mark.drill, pytest.mark.ssh]
FIDELITY = "docs/operations/sync/fidelity-drills.md"


@pytest.mark.enforces(f"{FIDELITY}#drill-1-pull-must-fail-when-_derived-payload-is-missing")
def test_drill1_pull_fails_when_derived_is_missing_from_the_payload(sync: Sync):
    sync.hpc_rounds(0, 2)
    assert sync.pull().ok
    shutil.rmtree(sync.hpc / "_derived")
    before = sync.fingerprint("before")
    result = sync.pull()
    assert sync.refused(result, "sidecars"), result.message
    assert sync.says(result, "remote _derived is missing"), result.message
    assert result.transfer_state == "FAILED"
    sync.unchanged(before, "a failed pull")


@pytest.mark.enforces(f"{FIDELITY}#drill-2-push-must-fail-when-remote-misses-local-overlays")
def test_drill2_push_loses_nothing_when_the_remote_misses_local_overlays(sync: Sync):
    """The remote lost its overlays since the last sync: push refuses with both trees unchanged, or
    restores them so the remote inventory matches the laptop's; never does it drop a local part."""
    sync.hpc_rounds(0, 2)
    assert sync.pull().ok
    shutil.rmtree(sync.hpc / "_derived")
    before = sync.prints()
    result = sync.push()
    if not result.ok:
        assert sync.refused(result, "sidecars"), result.message
        assert sync.says(result, "remote _derived is missing"), result.message
        sync.unchanged(before, "a failed push")
        return
    assert sync.prints().local == before.local, "a push changed the local tree"
    assert fingerprint_tree(sync.hpc / "_derived").digest == fingerprint_tree(sync.local / "_derived").digest


@pytest.mark.adversarial
@pytest.mark.enforces(f"{FIDELITY}#drill-3-overlay-schema-attack-surface")
@pytest.mark.parametrize("case", [c for c in CATALOGUE if c.entry_point == "attach"], ids=lambda c: c.id)
def test_drill3_overlay_schema_attack_fails_fast_and_writes_nothing(sync: Sync, case):
    """`usr attach` of a hostile overlay: refused, with the case's family, writing nothing."""
    problems = drive_case(sync, case)
    assert not problems, "\n".join(problems)


@pytest.mark.enforces(f"{FIDELITY}#chained-command-loop")
def test_chained_loop_ends_up_to_date(sync: Sync):
    sync.hpc_rounds(0, 1)
    first = sync.diff()
    assert first.ok and first.audit["data"]["_derived"]["changed"] is True
    assert sync.pull().transfer_state == "TRANSFERRED"
    sync.hpc_rounds(1, 1)
    assert sync.diff().audit["data"]["_derived"]["remote_only"]
    assert sync.pull().transfer_state == "TRANSFERRED"
    assert sync.push().transfer_state == "NO-OP"
    final = sync.diff()
    assert final.up_to_date is True, final.stdout
    sync.assert_same_trees()
