"""Crash-safe promotion: wholly old before the journal, rolled forward to wholly new after it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from usr_harness.sync.commit import promotion


def make_dataset(root: Path) -> Path:
    folder = root / "demo"
    (folder / "_derived" / "ns").mkdir(parents=True)
    (folder / "records.parquet").write_bytes(b"old")
    (folder / "_derived" / "ns" / "part-1.parquet").write_bytes(b"gone-soon")
    (folder / ".usr.lock").write_bytes(b"holder")
    return folder


def stage_new(folder: Path) -> str:
    stage = promotion.new_stage(str(folder))
    for rel, body in {"records.parquet": b"new", "_derived/ns/part-2.parquet": b"p2"}.items():
        staged = promotion.StagedFile(stage, rel)
        staged.write(body)
        staged.close()
    return stage


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


NEW = {"records.parquet": b"new", "_derived/ns/part-2.parquet": b"p2", ".usr.lock": b"holder"}


def test_promote_installs_deletes_and_cleans_up(tmp_path: Path):
    folder = make_dataset(tmp_path)
    lock_inode = os.stat(folder / ".usr.lock").st_ino
    stage = stage_new(folder)
    promotion.promote(
        str(folder), stage, ["records.parquet", "_derived/ns/part-2.parquet"], ["_derived/ns/part-1.parquet"]
    )
    assert snapshot(folder) == NEW
    assert os.stat(folder / ".usr.lock").st_ino == lock_inode
    assert not promotion.needs_recovery(str(folder))


def test_crash_before_journal_recovers_to_wholly_old(tmp_path: Path):
    folder = make_dataset(tmp_path)
    before = snapshot(folder)
    stage_new(folder)
    assert promotion.needs_recovery(str(folder))
    promotion.recover(str(folder))
    assert snapshot(folder) == before
    assert not promotion.stages_of(str(folder))


def test_crash_mid_promotion_recovers_to_wholly_new(tmp_path: Path):
    folder = make_dataset(tmp_path)
    stage = stage_new(folder)

    def crash() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        promotion.promote(
            str(folder),
            stage,
            ["records.parquet", "_derived/ns/part-2.parquet"],
            ["_derived/ns/part-1.parquet"],
            on_step=crash,
        )
    assert promotion.needs_recovery(str(folder))
    promotion.recover(str(folder))
    assert snapshot(folder) == NEW
    assert not promotion.needs_recovery(str(folder))


def test_unsafe_staged_path_is_refused(tmp_path: Path):
    folder = make_dataset(tmp_path)
    stage = promotion.new_stage(str(folder))
    with pytest.raises(ValueError, match="unsafe path"):
        promotion.StagedFile(stage, "../escape")


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_a_large_staged_file_is_written_back_while_it_streams(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    synced: list[int] = []
    real = os.fdatasync

    def counting(fd: int) -> None:
        synced.append(fd)
        real(fd)

    monkeypatch.setattr(promotion, "WRITEBACK_BYTES", 100)
    monkeypatch.setattr(os, "fdatasync", counting)
    staged = promotion.StagedFile(str(tmp_path), "big.bin")
    for _ in range(10):
        staged.write(b"x" * 60)
    staged.close()
    assert synced and (tmp_path / "big.bin").read_bytes() == b"x" * 600


def test_a_failed_background_writeback_fails_the_close_and_leaks_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    def broken_disk(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(promotion, "WRITEBACK_BYTES", 100)
    monkeypatch.setattr(os, "fdatasync", broken_disk)
    before = open_descriptors()
    staged = promotion.StagedFile(str(tmp_path), "big.bin")
    staged.write(b"x" * 150)
    with pytest.raises(OSError, match="Input/output error"):
        staged.close()
    assert open_descriptors() == before


def test_discarding_a_closed_staged_file_neither_fails_nor_closes_another_descriptor(tmp_path: Path):
    """A check after `close` that fails discards the file: that must not raise EBADF over the real error."""
    staged = promotion.StagedFile(str(tmp_path), "part.parquet")
    staged.write(b"bytes")
    staged.close()
    reused = os.open(tmp_path / "part.parquet", os.O_RDONLY)
    try:
        staged.discard()
        os.fstat(reused)
    finally:
        os.close(reused)
