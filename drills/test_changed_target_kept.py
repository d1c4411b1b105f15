"""Nothing lost: a file the target changed since the last sync is never overwritten by a sync.

Both sides hold `_artifacts/notes.txt` from the last sync; then each side writes its own
version. A pull (the laptop's copy is the target) and a push (the remote's) must both
refuse with `diverged`, naming the file, and leave both datasets as they were.
"""

from __future__ import annotations

import pytest

from .conftest import Sync

pytestmark = [pytest.mark.drill, pytest.mark.ssh]

NOTE = "_artifacts/notes.txt"


@pytest.mark.parametrize("action", ["pull", "push"])
def test_a_target_file_changed_since_the_last_sync_is_not_overwritten(sync: Sync, action: str):
    sync.hpc_rounds(0, 1)
    (sync.hpc / NOTE).parent.mkdir(exist_ok=True)
    (sync.hpc / NOTE).write_bytes(b"agreed at the last sync\n")
    assert sync.pull().ok
    (sync.local / NOTE).write_bytes(b"the laptop's own edit\n")
    (sync.hpc / NOTE).write_bytes(b"the cluster's own edit\n")
    before = sync.fingerprint("before")
    result = sync.pull() if action == "pull" else sync.push()
    assert sync.refused(result, "diverged"), result.message
    assert sync.says(result, "changed since the last sync"), result.message
    assert sync.prints() == before, f"a refused {action} changed a side"
