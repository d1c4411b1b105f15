"""The persisted hash cache: trusted across commands only under the racy-clean rule, never an error."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
import time
from pathlib import Path

import pytest

from usr_harness.sync.inventory import hash_cache
from usr_harness.sync.inventory.hash_cache import RACY_NS, HashCache
from usr_harness.sync.inventory.hash_store import HashStore, cache_report, store_path
from usr_harness.sync.inventory.scan import scan_dataset

TICK = 0.02
"""Longer than one tick of the kernel's coarse clock, so a later write gets a new ctime."""


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    folder = tmp_path / "root" / "demo"
    (folder / "_derived" / "ns").mkdir(parents=True)
    (folder / "records.parquet").write_bytes(b"R" * 1000)
    (folder / "_derived" / "ns" / "part-1.parquet").write_bytes(b"P1" * 50)
    (folder / "_artifacts").mkdir()
    (folder / "_artifacts" / "notes.txt").write_bytes(b"alpha beta")
    return folder


@pytest.fixture
def settled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files written by the test count as old: the clock reads ten seconds later than it is."""
    real = time.time_ns
    monkeypatch.setattr(hash_cache.time, "time_ns", lambda: real() + 10 * 10**9)


def command(dataset: Path, *, trust: bool = True) -> tuple[dict, HashCache, HashStore]:
    """One command's view of the dataset: load the cache, scan, save, as the engine and agent do."""
    store = HashStore.load(store_path(str(dataset.parent), dataset.name), trust=trust)
    hashes = HashCache()
    scan = scan_dataset(str(dataset), hashes=hashes, store=store)
    with contextlib.suppress(OSError):  # as the engine and the agent: a side that cannot write keeps none
        store.save(hashes)
    return {item["path"]: item["sha256"] for item in scan["files"]}, hashes, store


def cache_file(dataset: Path) -> Path:
    return Path(store_path(str(dataset.parent), dataset.name))


def edit_in_place(path: Path) -> None:
    """A same-size edit with the mtime put back: only the ctime moves."""
    info = path.stat()
    time.sleep(TICK)
    data = bytearray(path.read_bytes())
    data[0] ^= 0x01
    path.write_bytes(bytes(data))
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))
    assert path.stat().st_mtime_ns == info.st_mtime_ns


def test_a_second_command_reads_nothing(dataset: Path, settled: None) -> None:
    first, hashes, store = command(dataset)
    assert hashes.reads == 3 and store.state == "missing"
    second, hashes, store = command(dataset)
    assert second == first
    assert (hashes.reads, store.hits, store.state) == (0, 3, "ok")


def test_an_in_place_edit_with_mtime_restored_is_read_again(dataset: Path, settled: None) -> None:
    first, _, _ = command(dataset)
    part = dataset / "_derived/ns/part-1.parquet"
    edit_in_place(part)
    second, hashes, _ = command(dataset)
    assert hashes.reads == 1
    assert second["_derived/ns/part-1.parquet"] == hashlib.sha256(part.read_bytes()).hexdigest()
    assert second["_derived/ns/part-1.parquet"] != first["_derived/ns/part-1.parquet"]


def test_a_file_changed_within_the_racy_window_is_never_persisted(dataset: Path) -> None:
    """Without the shifted clock every file is younger than the window: each command reads it all."""
    for _ in range(2):
        _, hashes, store = command(dataset)
        assert hashes.reads == 3 and store.hits == 0
    assert not cache_file(dataset).exists()


def test_a_racy_entry_in_the_file_is_not_trusted(dataset: Path, settled: None) -> None:
    """An entry whose stat matches but whose timestamps are inside the window of its own read is re-read."""
    command(dataset)
    path = cache_file(dataset)
    header, body = path.read_bytes().split(b"\n", 1)
    entries = json.loads(body)
    for entry in entries.values():
        entry[5] = max(entry[3], entry[4]) + RACY_NS // 2
    body = json.dumps(entries).encode()
    header = json.dumps({**json.loads(header), "sha256": hashlib.sha256(body).hexdigest()}).encode()
    path.write_bytes(header + b"\n" + body)
    _, hashes, store = command(dataset)
    assert store.state == "ok" and (hashes.reads, store.hits) == (3, 0)


@pytest.mark.parametrize(
    ("damage", "state"),
    [
        (lambda data: data[: len(data) // 2], "corrupt"),
        (lambda data: data[:-4] + (b"a" if data[-4:-3] != b"a" else b"b") + data[-3:], "corrupt"),
        (lambda data: data.replace(b'"version": 1', b'"version": 99'), "foreign-version"),
        (lambda data: b"not json at all\n" + data, "corrupt"),
        (lambda data: b"", "corrupt"),
    ],
    ids=["truncated", "body-edited", "foreign-version", "garbage-header", "empty"],
)
def test_a_damaged_cache_file_is_ignored_and_rebuilt(
    dataset: Path, settled: None, damage, state: str
) -> None:
    first, _, _ = command(dataset)
    path = cache_file(dataset)
    path.write_bytes(damage(path.read_bytes()))
    second, hashes, store = command(dataset)
    assert (second, hashes.reads, store.state) == (first, 3, state)
    third, hashes, store = command(dataset)
    assert (third, hashes.reads, store.state) == (first, 0, "ok")


def test_an_unreadable_cache_file_is_ignored(dataset: Path, settled: None) -> None:
    cache_file(dataset).mkdir(parents=True)
    scanned, hashes, store = command(dataset)
    assert store.state == "unreadable" and hashes.reads == 3 and len(scanned) == 3
    assert os.listdir(cache_file(dataset).parent) == ["demo.json"]


def test_rehash_trusts_nothing_and_rebuilds(dataset: Path, settled: None) -> None:
    first, _, _ = command(dataset)
    again, hashes, store = command(dataset, trust=False)
    assert (again, hashes.reads, store.hits, store.state) == (first, 3, 0, "ignored")
    _, hashes, store = command(dataset)
    assert (hashes.reads, store.state) == (0, "ok")


def test_an_unchanged_cache_is_not_rewritten(dataset: Path, settled: None) -> None:
    command(dataset)
    before = cache_file(dataset).stat()
    _, _, store = command(dataset)
    assert store.hits == 3 and cache_file(dataset).stat().st_ino == before.st_ino


def test_a_cache_that_answered_for_every_file_is_not_even_rebuilt(dataset: Path, settled: None) -> None:
    class Untouched(HashCache):
        def entry(self, info: os.stat_result) -> tuple[str, int] | None:
            raise AssertionError("the unchanged cache was rebuilt entry by entry")

    command(dataset)
    store = HashStore.load(str(cache_file(dataset)))
    scan_dataset(str(dataset), hashes=HashCache(), store=store)
    assert store.save(Untouched()) is False


def test_a_new_file_joins_a_cache_that_answered_for_every_other(dataset: Path, settled: None) -> None:
    command(dataset)
    (dataset / "_artifacts/new.txt").write_bytes(b"gamma")
    _, _, store = command(dataset)
    assert store.hits == 3
    assert HashStore.load(str(cache_file(dataset))).entries == 4


def test_deleted_files_leave_the_cache(dataset: Path, settled: None) -> None:
    command(dataset)
    (dataset / "_artifacts/notes.txt").unlink()
    command(dataset)
    assert HashStore.load(str(cache_file(dataset))).entries == 2


def test_concurrent_writers_leave_one_whole_file(dataset: Path, settled: None) -> None:
    command(dataset)
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for _ in range(20):
                store = HashStore.load(str(cache_file(dataset)), trust=False)
                hashes = HashCache()
                scan_dataset(str(dataset), hashes=hashes, store=store)
                store.save(hashes)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert HashStore.load(str(cache_file(dataset))).state == "ok"
    assert not [name for name in os.listdir(cache_file(dataset).parent) if name != "demo.json"]


def test_the_report_counts_caches_by_state(dataset: Path, settled: None) -> None:
    command(dataset)
    other = Path(store_path(str(dataset.parent), "ns/other"))
    other.parent.mkdir(parents=True)
    other.write_bytes(b"{}")
    report = cache_report(str(dataset.parent))
    assert report["datasets"] == 2 and report["entries"] == 3
    assert report["states"] == {"ok": 1, "corrupt": 1}


def test_malformed_entries_under_a_valid_checksum_are_never_trusted(dataset: Path, settled: None) -> None:
    command(dataset)
    path = cache_file(dataset)
    header, body = path.read_bytes().split(b"\n", 1)
    entries = json.loads(body)
    first, second, third = sorted(entries)
    entries[first] = "not an entry"
    entries[second][5] = "late"
    entries[third] = entries[third][:6]
    body = json.dumps(entries).encode()
    header = json.dumps({**json.loads(header), "sha256": hashlib.sha256(body).hexdigest()}).encode()
    path.write_bytes(header + b"\n" + body)
    _, hashes, store = command(dataset)
    assert store.state == "ok" and (hashes.reads, store.hits) == (3, 0)
    _, hashes, _ = command(dataset)
    assert hashes.reads == 0
