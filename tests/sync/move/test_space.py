"""Free-space preflight and the words for a full disk, against the real filesystem of tmp_path."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from usr_harness.sync.move import space


def test_sizes_round_up_to_whole_blocks(tmp_path: Path):
    block = os.statvfs(tmp_path).f_frsize
    assert space.bytes_needed(str(tmp_path), [0, 1, block, block + 1]) == 0 + block + block + 2 * block


def test_shortfall_says_needed_and_free_only_when_it_does_not_fit(tmp_path: Path):
    free = space.free_bytes(str(tmp_path))
    assert space.shortfall(str(tmp_path), [1]) is None
    needed, seen_free = space.shortfall(str(tmp_path), [free * 2 + (1 << 30)])
    assert needed > seen_free


def test_a_folder_not_made_yet_is_measured_where_it_will_live(tmp_path: Path):
    assert space.existing_ancestor(str(tmp_path / "ns" / "demo")) == str(tmp_path)
    assert space.free_bytes(str(tmp_path / "ns")) == space.free_bytes(str(tmp_path))


def test_only_enospc_and_quota_are_a_full_disk():
    assert space.is_disk_full(OSError(errno.ENOSPC, "full"))
    assert space.is_disk_full(OSError(errno.EDQUOT, "quota"))
    assert not space.is_disk_full(OSError(errno.EACCES, "denied"))
    assert not space.is_disk_full(ValueError("no"))


def test_messages_quote_names_and_stay_one_line(tmp_path: Path):
    odd = str(tmp_path / "bad\nroot")
    message = space.preflight_message("local demo", odd, 3, 8192, 4096)
    assert "\n" not in message and "'" + str(tmp_path) + "/bad\\nroot'" in message
    assert "needs 8192 bytes" in message and "4096 bytes" in message and "free" in message
    full = space.full_message("remote demo", "a\rb", str(tmp_path), 100, OSError(errno.ENOSPC, "x"))
    assert "\r" not in full and "'a\\rb'" in full and "needs 100 bytes" in full
