"""Named fault points: the drill's spec, its hook, and `fill` taking a real filesystem's last free byte."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from usr_harness.faults.points import EnvFaultHook, armed_env, parse_spec
from usr_harness.faults.small_disk import free_bytes, resize
from usr_harness.sync.hooks import FILLER, FaultInjected, fill_space


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
    EnvFaultHook().at("after-preflight", str(disk))
    assert (disk / FILLER).exists() and free_bytes(disk) == 0


def test_the_hook_fires_on_the_counted_pass_of_the_armed_point_only(monkeypatch):
    monkeypatch.setenv("USR_HARNESS_FAULT_POINT", "mid-transfer@2")
    hook = EnvFaultHook()
    hook.at("before-staging", None)
    hook.at("mid-transfer", None)
    with pytest.raises(FaultInjected, match="fault point mid-transfer fired"):
        hook.at("mid-transfer", None)
    hook.at("mid-transfer", None)
    assert hook.remote_action("mid-transfer") == "raise"
    assert hook.remote_action("mid-promotion") is None


def test_an_unarmed_hook_does_nothing(monkeypatch):
    monkeypatch.delenv("USR_HARNESS_FAULT_POINT", raising=False)
    hook = EnvFaultHook()
    hook.at("mid-promotion", None)
    assert hook.remote_action("mid-promotion") is None


def test_armed_env_arms_the_engine_through_its_own_hook_variable():
    env = armed_env("mid-promotion:stop")
    assert env == {
        "USR_HARNESS_FAULT_POINT": "mid-promotion:stop",
        "USR_SYNC_HOOKS": "usr_harness.faults.points:hook",
    }
    with pytest.raises(ValueError, match="unknown fault point"):
        armed_env("nowhere")
    probe = (
        "from usr_harness.sync import hooks; hook = hooks.load_from_env(); "
        "hooks.fault_point('before-staging')"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env={**os.environ, **armed_env("before-staging")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "FaultInjected: fault point before-staging fired" in done.stderr
