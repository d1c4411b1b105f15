"""An engine that remembers hashes between commands must still see a same-size edit with its mtime put back.

Scenario: both sides in sync, left alone long enough for a stat-trusting cache to trust every
file (past a 2 s racy window), then two diffs so any cache is built and used; then one byte of a
file is flipped in place on one side with its size and mtime kept (only the ctime moves). The next
diff must see it, and the command that would carry it to the other side must refuse, touching
neither side. An engine whose audit reports a hash cache must show that the warm diff hit it on the
side edited (else the drill would not test the cache at all); run against an engine without such a
cache, the rest holds all the same.
"""

from __future__ import annotations

import time

import pytest

from usr_harness.corrupt.catalogue import apply, get
from usr_harness.corrupt.expectations import CHANGED
from usr_harness.corrupt.remote_tree import RemoteTree
from usr_harness.corrupt.tree import LocalTree
from usr_harness.mock.batch import ensure_shared_namespaces

from .conftest import DATASET, Sync

pytestmark = [
    pytest.mark.drill,
    pytest.mark.ssh,
    pytest.mark.corruption,
    pytest.mark.slow,
    pytest.mark.enforces("docs/operations/sync/README.md#default-sync-contract"),
]

SETTLE_SECONDS = 2.5
"""Past the 2 s window inside which a racy-clean cache (git's rule) never trusts a file's stat."""
CARRIER = {"local": "push", "remote": "pull"}
SECTION_KEYS = {"primary": "primary", "derived": "_derived"}
CASES = [(kind, side) for kind in ("derived.byte-flip", "primary.byte-flip") for side in ("local", "remote")]


@pytest.mark.parametrize(("kind", "side"), CASES, ids=[f"{k}-{s}" for k, s in CASES])
def test_an_in_place_edit_of_a_warm_file_is_seen_and_never_carried(sync: Sync, kind: str, side: str):
    entry = get(kind)
    sync.hpc_rounds(0, 2)
    assert sync.pull().ok
    ensure_shared_namespaces(sync.remote_root, sync.local_root, ["densegen", "infer"])
    time.sleep(SETTLE_SECONDS)
    for _ in range(2):
        warm = sync.diff()
        assert warm.ok and warm.up_to_date is True, (
            f"a warm diff of synced sides is not up to date: {warm.message}"
        )
    cache = warm.audit.get("hash_cache")
    sync.record.add_evidence("warm_cache", cache or "the engine reports no hash cache")
    if cache is not None:
        # An engine that keeps a cache must have used it here, or the edit below proves nothing of it.
        hits = (cache.get(side) or {}).get("hits", 0)
        assert hits > 0, f"the {side} hash cache was not used by the warm diff: {cache}"
    if side == "remote":
        with sync.remote.session() as session:
            applied = apply(entry, RemoteTree(session, str(sync.remote_root)), DATASET, sync.record.seed)
    else:
        applied = apply(entry, LocalTree(sync.local_root), DATASET, sync.record.seed)
    sync.record.add_evidence("applied", applied.as_dict())
    before = sync.fingerprint("corrupted")
    seen = sync.diff()
    section = seen.data.get(SECTION_KEYS[entry.section], {})
    assert seen.audit is not None and section.get("changed"), (
        f"the diff does not see the edit: {seen.message}"
    )
    on_diff = entry.expect(side, "diff")
    assert on_diff.outcome == CHANGED or sync.refused(seen, on_diff.outcome), (
        f"the diff of the edit is not refused as {on_diff.outcome}: {seen.message[-300:]}"
    )
    sync.unchanged(before, "a diff")
    expected = entry.expect(side, CARRIER[side])
    carried = getattr(sync, CARRIER[side])()
    assert sync.refused(carried, expected.outcome), (
        f"the {CARRIER[side]} of the edited file is not refused as {expected.outcome}: {carried.outcome()}"
    )
    sync.unchanged(before, f"a refused {CARRIER[side]}")
