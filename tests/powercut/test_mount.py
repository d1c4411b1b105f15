"""The model through a real FUSE mount: real syscalls on the mount point, a cut, then a remount to look."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from tests.powercut.conftest import MountLayer
from usr_harness.powercut import (
    DIRECTORY,
    FuseUnavailable,
    OpKind,
    Policy,
    PowerCutError,
    PowerCutMount,
    read_log,
    scan,
)
from usr_harness.powercut.model import DurabilityModel


def write_file(path: Path, data: bytes, *, sync: bool, flags: int = os.O_CREAT | os.O_WRONLY) -> None:
    fd = os.open(path, flags, 0o644)
    try:
        os.write(fd, data)
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@pytest.fixture
def backing(tmp_path: Path) -> Path:
    folder = tmp_path / "backing"
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "kept").write_bytes(b"kept")
    (folder / "data" / "appended").write_bytes(b"head")
    (folder / "data" / "renamed").write_bytes(b"old version")
    return folder


def test_a_power_cut_leaves_only_what_posix_made_durable(backing: Path, mount_layer: MountLayer) -> None:
    layer = mount_layer(backing)
    data = layer.mountpoint / "data"
    write_file(data / "kept", b"+synced", sync=True, flags=os.O_WRONLY | os.O_APPEND)
    write_file(data / "appended", b"+lost", sync=False, flags=os.O_WRONLY | os.O_APPEND)
    write_file(data / ".tmp", b"new version", sync=True)
    os.replace(data / ".tmp", data / "renamed")  # no directory fsync after: undone
    write_file(data / "orphan", b"synced, dir not", sync=True)
    assert (data / "appended").read_bytes() == b"head+lost"  # the live view has everything
    layer.stop()

    kinds = [op.kind for op in layer.operations()]
    assert kinds.count(OpKind.WRITE) == 4 and kinds.count(OpKind.FSYNC) == 3
    tree = layer.power_cut()
    expected = {"data": DIRECTORY, "data/kept": b"kept+synced", "data/appended": b"head"}
    assert tree == expected | {"data/renamed": b"old version"}
    assert scan(backing) == tree

    again = mount_layer(backing)  # remount: the survivors read back through the layer
    assert sorted(os.listdir(again.mountpoint / "data")) == ["appended", "kept", "renamed"]
    assert (again.mountpoint / "data" / "renamed").read_bytes() == b"old version"


def test_fsync_of_file_then_directory_makes_new_file_and_rename_durable(
    backing: Path, mount_layer: MountLayer
) -> None:
    layer = mount_layer(backing)
    data = layer.mountpoint / "data"
    write_file(data / "new", b"fresh", sync=True)
    write_file(data / ".tmp", b"new version", sync=True)
    os.replace(data / ".tmp", data / "renamed")
    fsync_dir(data)
    layer.stop()
    tree = layer.power_cut(into=backing.parent / "elsewhere")
    assert tree["data/new"] == b"fresh" and tree["data/renamed"] == b"new version"
    assert scan(backing.parent / "elsewhere") == tree
    assert (backing / "data" / "new").read_bytes() == b"fresh"  # into= leaves the backing live state


def test_handles_follow_their_file_across_rename_and_unlink(backing: Path, mount_layer: MountLayer) -> None:
    layer = mount_layer(backing)
    data = layer.mountpoint / "data"
    moved = os.open(data / "kept", os.O_WRONLY)
    gone = os.open(data / "appended", os.O_WRONLY)
    os.rename(data / "kept", data / "moved")
    os.unlink(data / "appended")
    os.pwrite(moved, b"KEPT", 0)
    os.pwrite(gone, b"HEAD", 0)
    for fd in (moved, gone):
        os.fsync(fd)
        os.close(fd)
    layer.stop()
    # the directory was not synced: old names, each with its node's synced bytes
    strict = layer.power_cut(into=backing.parent / "strict")
    assert strict["data/kept"] == b"KEPT" and strict["data/appended"] == b"HEAD"
    ahead = layer.power_cut(policy=Policy.METADATA_AHEAD, into=backing.parent / "ahead")
    assert ahead["data/moved"] == b"KEPT" and "data/appended" not in ahead


def test_every_durability_relevant_call_is_logged_in_order(backing: Path, mount_layer: MountLayer) -> None:
    layer = mount_layer(backing)
    root = layer.mountpoint
    os.mkdir(root / "d")
    write_file(root / "d" / "f", b"xy", sync=False)
    fd = os.open(root / "d" / "f", os.O_WRONLY | os.O_TRUNC)
    os.ftruncate(fd, 3)
    os.fdatasync(fd)
    os.close(fd)
    os.link(root / "d" / "f", root / "d" / "g")
    os.symlink("f", root / "d" / "s")
    for name in ("f", "g", "s"):
        os.unlink(root / "d" / name)
    os.rmdir(root / "d")
    fsync_dir(root)
    layer.stop()
    described = [op.describe() for op in layer.operations()]
    assert described == [
        "mkdir /d",
        "create /d/f",
        "write /d/f @0+2",
        "truncate /d/f to 0",
        "truncate /d/f to 3",
        "fdatasync /d/f",
        "link /d/f -> /d/g",
        "symlink /d/s -> f",
        "unlink /d/f",
        "unlink /d/g",
        "unlink /d/s",
        "rmdir /d",
        "fsync /",
    ]


def test_a_live_cut_refuses_every_call_after_the_kth(backing: Path, mount_layer: MountLayer) -> None:
    layer = mount_layer(backing, cut_after=2)
    data = layer.mountpoint / "data"
    write_file(data / "kept", b"!", sync=True, flags=os.O_WRONLY | os.O_APPEND)  # write, fsync: ops 1 and 2
    with pytest.raises(OSError) as refused:
        os.rename(data / "kept", data / "other")
    assert refused.value.errno == errno.EIO
    layer.stop()
    assert len(layer.operations()) == 2
    assert layer.power_cut()["data/kept"] == b"kept!"


def test_without_fuse_the_mount_is_a_named_error_and_nothing_is_touched(tmp_path: Path) -> None:
    (tmp_path / "backing").mkdir()
    (tmp_path / "backing" / "f").write_bytes(b"x")
    for kwargs, reason in (
        ({"device": tmp_path / "no-fuse"}, "does not exist"),
        ({"helper": "no-such-fusermount3"}, "not on PATH"),
    ):
        layer = PowerCutMount(tmp_path / "backing", tmp_path / "mnt", tmp_path / "log", **kwargs)
        with pytest.raises(FuseUnavailable, match=reason) as raised:
            layer.start()
        assert reason in raised.value.reason
        assert not (tmp_path / "mnt").exists() and not (tmp_path / "log").exists()
        assert scan(tmp_path / "backing") == {"f": b"x"}


def test_after_a_cut_and_remount_files_show_the_identity_they_had(
    backing: Path, mount_layer: MountLayer
) -> None:
    layer = mount_layer(backing)
    data = layer.mountpoint / "data"
    kept = os.lstat(data / "kept")
    fd = os.open(data / "new", os.O_CREAT | os.O_WRONLY, 0o644)
    os.write(fd, b"synced")
    os.fsync(fd)
    synced = os.fstat(fd)
    os.write(fd, b" and more, lost")
    os.close(fd)
    fsync_dir(data)
    layer.stop()
    layer.power_cut()
    assert (backing / "data" / "new").read_bytes() == b"synced"

    again = mount_layer(backing, identities=layer.cut_identities)
    after = {name: os.lstat(again.mountpoint / "data" / name) for name in ("kept", "new")}
    for before, name in ((kept, "kept"), (synced, "new")):
        shown = after[name]
        assert (shown.st_ino, shown.st_mtime_ns, shown.st_ctime_ns) == (
            before.st_ino,
            before.st_mtime_ns,
            before.st_ctime_ns,
        ), name
    listed = {entry.name: entry.inode() for entry in os.scandir(again.mountpoint / "data")}
    assert listed["new"] == synced.st_ino


def test_a_cut_in_place_keeps_the_mount_and_its_device(backing: Path, mount_layer: MountLayer) -> None:
    layer = mount_layer(backing)
    data = layer.mountpoint / "data"
    device = os.stat(data).st_dev
    write_file(data / ".tmp", b"new version", sync=True)
    os.replace(data / ".tmp", data / "renamed")
    journal_view = os.lstat(data / "kept")
    write_file(data / "kept", b"!", sync=False, flags=os.O_WRONLY | os.O_APPEND)
    recorded = layer.operations()

    tree = layer.cut_in_place()  # the rename was never made durable by a directory fsync
    assert tree["data/renamed"] == b"old version" and tree["data/kept"] == b"kept"
    assert (data / "renamed").read_bytes() == b"old version"
    assert sorted(os.listdir(data)) == ["appended", "kept", "renamed"]
    shown = os.lstat(data / "kept")
    assert shown.st_dev == device
    assert (shown.st_ino, shown.st_mtime_ns, shown.st_ctime_ns) == (
        journal_view.st_ino,
        journal_view.st_mtime_ns,
        journal_view.st_ctime_ns,
    )

    os.unlink(data / "appended")  # the layer goes on from the cut state, logging apart
    assert layer.operations() == recorded
    assert [
        op.describe() for op in read_log(layer.log_folder.with_name(f"{layer.log_folder.name}-cut1"))
    ] == ["unlink /data/appended"]
    assert not (backing / "data" / "appended").exists()


def test_a_cut_needs_the_right_mount_state_and_touches_nothing_otherwise(
    backing: Path, mount_layer: MountLayer
) -> None:
    before = scan(backing)
    layer = mount_layer(backing)
    with pytest.raises(PowerCutError, match="unmount the layer"):
        layer.power_cut()
    assert scan(backing) == before
    layer.stop()
    with pytest.raises(PowerCutError, match="not mounted"):
        layer.cut_in_place()
    assert scan(backing) == before


def test_the_log_replayed_over_the_start_gives_exactly_the_live_folder(
    backing: Path, mount_layer: MountLayer
) -> None:
    """Nothing that changes the folder escapes the log: the model's volatile state is the backing folder."""
    layer = mount_layer(backing)
    root = layer.mountpoint
    os.makedirs(root / "a" / "b")
    write_file(root / "a" / "b" / "f", b"0123456789", sync=False)
    with open(root / "a" / "b" / "f", "r+b") as handle:
        handle.seek(3)
        handle.write(b"xx")
        handle.truncate(8)
    with open(root / "data" / "appended", "ab") as handle:
        handle.write(b" tail")
    os.rename(root / "a" / "b", root / "data" / "moved")
    os.link(root / "data" / "moved" / "f", root / "data" / "hard")
    os.symlink("hard", root / "data" / "soft")
    os.replace(root / "data" / "kept", root / "data" / "renamed")
    os.rmdir(root / "a")
    layer.stop()
    model = DurabilityModel(layer.initial)
    for op in layer.operations():
        model.apply(op)
    assert model.volatile() == scan(backing)
    assert scan(backing)["data/hard"] == b"012xx567"
