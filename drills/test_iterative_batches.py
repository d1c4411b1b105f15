"""The HPC loop: batch on the cluster -> pull -> local Infer overlay -> push -> diff, round after round."""

from __future__ import annotations

import pytest

from .conftest import Sync

pytestmark = [
    pytest.mark.drill,
    pytest.mark.ssh,
    pytest.mark.enforces("docs/operations/sync/quickstart.md#iterative-batch-loop-hpc-clone---local-clone"),
]


def test_iterative_rounds_end_byte_identical(sync: Sync, drill_scale: dict):
    for round_no in range(drill_scale["rounds"]):
        sync.hpc_rounds(round_no, 1)
        pulled = sync.pull()
        assert pulled.transfer_state == "TRANSFERRED", pulled.message
        if sync.has("audit-post"):
            assert pulled.audit["data"]["post"]["up_to_date"] is True
        sync.local_overlay("infer", seed_offset=round_no)
        pushed = sync.push()
        assert pushed.transfer_state == "TRANSFERRED", pushed.message
        final = sync.diff()
        assert final.up_to_date is True, final.stdout
        sync.fingerprint(f"round-{round_no}")
    sync.assert_same_trees()
    assert sync.validate("--strict").ok
