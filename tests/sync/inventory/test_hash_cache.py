"""The per-command hash cache: a hit only while the inode is provably unchanged."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from usr_harness.sync.commit.promotion import StagedFile, new_stage, promote
from usr_harness.sync.inventory import hash_cache
from usr_harness.sync.inventory.hash_cache import HashCache

TICK = 0.02
"""Longer than one timestamp tick of the kernel's coarse clock, so a later write gets a new ctime."""


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every file the cache opens to hash."""
    opened: list[str] = []

    def counting_open(path, *args, **kwargs):
        opened.append(str(path))
        return open(path, *args, **kwargs)

    monkeypatch.setattr(hash_cache, "open", counting_open, raising=False)
    return opened


@pytest.fixture
def settled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files written by the test count as old: the clock reads ten seconds later than it is."""
    real = time.time_ns
    monkeypatch.setattr(hash_cache.time, "time_ns", lambda: real() + 10 * 10**9)


def test_an_old_unchanged_file_is_read_once(tmp_path: Path, reads: list[str], settled: None) -> None:
    path = tmp_path / "a"
    path.write_bytes(b"alpha")
    cache = HashCache()
    assert cache.sha256(str(path)) == cache.sha256(str(path)) == sha(b"alpha")
    assert reads == [str(path)]


def test_a_file_changed_just_before_hashing_is_never_cached(tmp_path: Path, reads: list[str]) -> None:
    path = tmp_path / "a"
    path.write_bytes(b"alpha")
    cache = HashCache()
    cache.sha256(str(path))
    cache.sha256(str(path))
    assert len(reads) == 2


def test_a_same_size_rewrite_with_its_mtime_put_back_is_seen(tmp_path: Path, settled: None) -> None:
    path = tmp_path / "a"
    path.write_bytes(b"alpha")
    cache = HashCache()
    assert cache.sha256(str(path)) == sha(b"alpha")
    before = path.stat()
    time.sleep(TICK)
    with open(path, "r+b") as handle:
        handle.write(b"A")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_mtime_ns == before.st_mtime_ns
    assert cache.sha256(str(path)) == sha(b"Alpha")


def test_a_file_replaced_by_rename_is_hashed_again(tmp_path: Path, settled: None) -> None:
    path, other = tmp_path / "a", tmp_path / "b"
    path.write_bytes(b"alpha")
    other.write_bytes(b"gamma")
    cache = HashCache()
    cache.sha256(str(path))
    os.replace(other, path)
    assert cache.sha256(str(path)) == sha(b"gamma")


def stage_and_promote(dataset: Path, rel: str, body: bytes) -> HashCache:
    """One file staged and promoted as a pull does, through a fresh cache."""
    dataset.mkdir()
    cache = HashCache()
    stage = new_stage(str(dataset))
    staged = StagedFile(stage, rel, cache)
    staged.write(body)
    staged.close()
    promote(str(dataset), stage, [rel], [], hashes=cache)
    return cache


def test_promoted_files_keep_the_hash_of_the_bytes_written(tmp_path: Path, reads: list[str]) -> None:
    cache = stage_and_promote(tmp_path / "demo", "_derived/ns/part-1.parquet", b"part bytes")
    assert cache.sha256(str(tmp_path / "demo/_derived/ns/part-1.parquet")) == sha(b"part bytes")
    assert reads == []


def test_a_promoted_file_touched_afterwards_is_read_again(tmp_path: Path, reads: list[str]) -> None:
    cache = stage_and_promote(tmp_path / "demo", "meta.md", b"name: demo\n")
    time.sleep(TICK)
    (tmp_path / "demo/meta.md").write_bytes(b"name: Demo\n")
    assert cache.sha256(str(tmp_path / "demo/meta.md")) == sha(b"name: Demo\n")
    assert reads == [str(tmp_path / "demo/meta.md")]


def test_a_background_hash_is_waited_for_not_repeated(
    tmp_path: Path, reads: list[str], settled: None
) -> None:
    path = tmp_path / "big"
    path.write_bytes(b"x" * 3_000_000)
    cache = HashCache()
    cache.start(str(path))
    cache.start(str(path))
    assert cache.sha256(str(path)) == sha(b"x" * 3_000_000)
    assert reads == [str(path)]


def test_a_file_changed_after_its_background_hash_began_is_read_again(tmp_path: Path, settled: None) -> None:
    path = tmp_path / "big"
    path.write_bytes(b"x" * 3_000_000)
    cache = HashCache()
    cache.start(str(path))
    time.sleep(TICK)
    with open(path, "r+b") as handle:
        handle.write(b"y")
    assert cache.sha256(str(path)) == sha(b"y" + b"x" * 2_999_999)


def test_a_racy_background_hash_is_not_trusted(tmp_path: Path, reads: list[str]) -> None:
    path = tmp_path / "fresh"
    path.write_bytes(b"just written")
    cache = HashCache()
    cache.start(str(path))
    assert cache.sha256(str(path)) == sha(b"just written")
    assert len(reads) == 2
