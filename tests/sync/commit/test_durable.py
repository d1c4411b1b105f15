"""Staged files made durable in batches: every file synced once by name, each failure its own."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from usr_harness.sync.commit import durable
from usr_harness.sync.commit.durable import DurableBatches


@pytest.fixture
def synced(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Each path `sync_path` synced, in order (the real sync still runs)."""
    seen: list[str] = []
    guard = threading.Lock()
    real = durable.sync_path

    def recording(path: str) -> None:
        real(path)
        with guard:
            seen.append(path)

    monkeypatch.setattr(durable, "sync_path", recording)
    return seen


def _files(folder: Path, count: int) -> list[str]:
    folder.mkdir(exist_ok=True)
    paths = []
    for index in range(count):
        path = folder / f"f{index}"
        path.write_bytes(b"x" * index)
        paths.append(str(path))
    return paths


@pytest.fixture
def syncfs_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Each syncfs made, by the descriptor it was given (none really made); a batch of 3 files is large."""
    calls: list[int] = []
    monkeypatch.setattr(durable, "_syncfs", lambda: lambda fd: calls.append(fd) or 0)
    monkeypatch.setattr(durable, "SYNCFS_MIN_FILES", 3)
    return calls


def test_every_file_is_synced_once_across_full_and_partial_batches(
    tmp_path: Path, synced: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(durable, "BATCH_FILES", 3)
    paths = _files(tmp_path, 8)
    batches = DurableBatches()
    done = [batches.add(path, os.path.getsize(path)) for path in paths]
    assert all(future.result(5) is None for future in done[:6])
    batches.flush()
    assert all(future.result(5) is None for future in done)
    batches.close()
    assert synced == paths


def test_a_batch_is_sent_once_it_holds_enough_bytes(
    tmp_path: Path, synced: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(durable, "BATCH_BYTES", 10)
    first, second, third = _files(tmp_path, 3)
    batches = DurableBatches()
    done = [batches.add(first, 4), batches.add(second, 6)]
    assert [future.result(5) for future in done] == [None, None]
    late = batches.add(third, 1)
    assert not late.done()
    batches.flush()
    late.result(5)
    batches.close()


def test_a_file_that_cannot_be_synced_fails_alone_and_never_hangs_its_batch(tmp_path: Path) -> None:
    """Even the batch's first file (whose handle the syncfs would use) missing: each waiter is answered."""
    present = _files(tmp_path, 2)
    batches = DurableBatches()
    missing = batches.add(str(tmp_path / "gone"), 0)
    fine = [batches.add(path, 1) for path in present]
    batches.flush()
    with pytest.raises(FileNotFoundError):
        missing.result(5)
    assert [future.result(5) for future in fine] == [None, None]
    batches.close()


def test_without_syncfs_each_file_is_still_synced(
    tmp_path: Path, synced: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(durable, "_syncfs", lambda: lambda fd: 0)
    paths = _files(tmp_path, 3)
    batches = DurableBatches()
    done = [batches.add(path, 1) for path in paths]
    batches.flush()
    assert [future.result(5) for future in done] == [None] * 3
    batches.close()
    assert synced == paths


def test_closing_drops_batches_not_begun_and_leaves_no_open_file(tmp_path: Path) -> None:
    before = len(os.listdir("/proc/self/fd"))
    batches = DurableBatches()
    for path in _files(tmp_path, 5):
        batches.add(path, 1)
    batches.flush()
    batches.close()
    assert len(os.listdir("/proc/self/fd")) == before


def test_only_a_large_batch_asks_for_a_syncfs_and_every_file_is_synced_either_way(
    tmp_path: Path, synced: list[str], syncfs_calls: list[int]
) -> None:
    small, large = _files(tmp_path / "small", 2), _files(tmp_path / "large", 3)
    batches = DurableBatches()
    for paths in (small, large):
        done = [batches.add(path, 1) for path in paths]
        batches.flush()
        assert [future.result(5) for future in done] == [None] * len(paths)
    batches.close()
    assert len(syncfs_calls) == 1
    assert synced == small + large
