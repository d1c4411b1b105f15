"""Named fault points: `fill` takes a real filesystem's last free byte, inside the folder it is given."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from usr_harness.faults.points import FILLER, fault_point, fill_space, parse_spec
from usr_harness.faults.small_disk import free_bytes, resize


def test_fill_is_a_known_action_of_the_new_point():
    assert parse_spec("after-preflight:fill") == ("after-preflight", "fill", 1)
    with pytest.raises(ValueError, match="use raise, kill, stop, fill"):
        parse_spec("after-preflight:explode")


def test_fill_leaves_no_room_and_removing_its_folder_gives_it_back(small_disk, tmp_path: Path):
    disk = small_disk(tmp_path / "small", 256 << 10)
    folder = disk / "stage"
    folder.mkdir()
    fill_space(str(folder))
    assert free_bytes(disk) == 0
    with pytest.raises(OSError) as full, open(disk / "more", "wb") as handle:
        handle.write(b"x" * 8192)
        handle.flush()
        os.fsync(handle.fileno())
    assert full.value.errno == errno.ENOSPC
    (disk / "more").unlink()
    (folder / FILLER).unlink()
    assert free_bytes(disk) == 256 << 10
    resize(disk, 512 << 10)
    assert free_bytes(disk) == 512 << 10


def test_an_armed_fill_fires_only_where_a_folder_is_named(small_disk, tmp_path: Path, monkeypatch):
    disk = small_disk(tmp_path / "small", 128 << 10)
    monkeypatch.setenv("USR_HARNESS_FAULT_POINT", "after-preflight:fill")
    fault_point("after-preflight", str(disk))
    assert (disk / FILLER).exists() and free_bytes(disk) == 0
