"""Nothing lost: a file the target changed since the last sync is never overwritten by a sync.

Both sides hold a mutable file from the last sync (an auxiliary note, and `meta.md` with a
line appended); then each side writes its own version. A pull (the laptop's copy is the
target) and a push (the remote's) must both refuse with `diverged`, naming the file, and
leave both datasets as they were.
"""

from __future__ import annotations

import pytest

from .conftest import Sync

pytestmark = [pytest.mark.drill, pytest.mark.ssh, pytest.mark.enforces("H-nothing-lost")]

FILES = ("_artifacts/notes.txt", "meta.md")
OWN = {"pull": b"the laptop's own edit\n", "push": b"the cluster's own edit\n"}
"""The target's own edit: what a pull's target (the laptop) and a push's (the remote) must keep."""


def _edit(path, text: bytes) -> None:
    """Append to meta.md (its header stays), write a note whole."""
    path.parent.mkdir(exist_ok=True)
    old = path.read_bytes() if path.name == "meta.md" else b""
    path.write_bytes(old + text)


@pytest.mark.parametrize("rel", FILES)
@pytest.mark.parametrize("action", ["pull", "push"])
def test_a_target_file_changed_since_the_last_sync_is_not_overwritten(sync: Sync, action: str, rel: str):
    sync.hpc_rounds(0, 1)
    _edit(sync.hpc / rel, b"agreed at the last sync\n")
    assert sync.pull().ok
    if not (sync.local / rel).is_file():
        reason = f"engine {sync.engine.name} does not carry {rel} on a pull"
        sync.record.add_evidence("unknown_because", reason)
        pytest.skip(f"unknown: {reason}")
    _edit(sync.local / rel, b"the laptop's own edit\n")
    _edit(sync.hpc / rel, b"the cluster's own edit\n")
    before = sync.fingerprint("before")
    result = sync.pull() if action == "pull" else sync.push()
    target = sync.local if action == "pull" else sync.hpc
    ending = (target / rel).read_bytes()[-24:]
    assert not ending.endswith(b"own edit\n") or ending.endswith(OWN[action]), (
        f"the {action} overwrote the target's own edit of {rel}: {result.message}"
    )
    assert sync.prints() == before, f"a {action} of a conflicting {rel} changed a side"
    state = result.transfer_state or f"exit {result.exit_code}"
    assert sync.refused(result, "diverged"), (
        f"the {action} left {rel} edited on both sides unreported ({state})"
    )
    assert sync.says(result, "changed since the last sync"), result.message
