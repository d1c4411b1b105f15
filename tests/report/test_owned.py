"""Every byte an engine owns under a root, and runtime files in the state they must be in."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from usr_harness.report.owned import owned_state


def _root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "demo" / "_derived").mkdir(parents=True)
    (root / "demo" / "records.parquet").write_bytes(b"rows")
    (root / "demo" / ".usr.lock").write_text("host=a pid=1\n")
    (root / ".usr-sync" / "loopback").mkdir(parents=True)
    (root / ".usr-sync" / "loopback" / "demo.json").write_text('{"files": {}}')
    return root


def test_sync_state_stages_and_journals_count_lock_contents_and_hash_caches_do_not(tmp_path: Path) -> None:
    root = _root(tmp_path)
    before = owned_state(root)
    assert before.leftovers == ()
    (root / "demo" / ".usr.lock").write_text("host=b pid=2\n")
    (root / ".usr-sync" / "hashes").mkdir()
    (root / ".usr-sync" / "hashes" / "demo.json").write_text("{}")
    assert owned_state(root) == before
    (root / ".usr-sync" / "loopback" / "demo.json").write_text('{"files": {"x": 1}}')
    after = owned_state(root)
    assert after != before
    assert after.changes_since(before) == ["~ .usr-sync/loopback/demo.json (size, content)"]
    (root / ".demo.usr-stage-abc").mkdir()
    (root / "demo" / "_derived" / ".usr-promote-journal.json").write_text("{}")
    lines = owned_state(root).changes_since(before)
    assert "left behind: .demo.usr-stage-abc" in lines
    assert "left behind: demo/_derived/.usr-promote-journal.json" in lines


def test_a_held_lock_is_a_leftover_and_a_free_one_is_not(tmp_path: Path) -> None:
    root = _root(tmp_path)
    descriptor = os.open(root / "demo" / ".usr.lock", os.O_RDWR)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        assert owned_state(root).leftovers == ("lock still held: demo/.usr.lock",)
    finally:
        os.close(descriptor)
    assert owned_state(root).leftovers == ()
    assert owned_state(tmp_path / "absent").fingerprint.digest == "absent"
