"""scan_dataset on real folders: sections, kinds, hashes, the event log's prefixes, the primary's footer."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.usr_sides import records_table
from usr_harness.dataset.parquet_io import write_parquet
from usr_harness.mock.series import BatchSeries
from usr_harness.sync.inventory.hash_cache import HashCache
from usr_harness.sync.inventory.scan import add_events_prefix, count_lines, scan_dataset, sha256_file

EVENTS = b'{"action":"init"}\n{"action":"attach"}\n'


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def put(folder: Path, rel: str, data: bytes) -> Path:
    path = folder / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    """One file of every section, and the runtime files a scan must never list."""
    folder = tmp_path / "demo"
    write_parquet(records_table(0, 7), put(folder, "records.parquet", b""))
    put(folder, "meta.md", b"# demo\n")
    put(folder, ".events.log", EVENTS)
    put(folder, "_snapshots/records-20260101T000000000000.parquet", b"S")
    put(folder, "_derived/densegen/part-20260101T000000000000-0123abcd.parquet", b"D")
    put(folder, "_artifacts/checkpoint-2.json", b"{}\n")
    put(folder, "_registry/registry.abc.yaml", b"namespaces: {}\n")
    put(folder, "notes.txt", b"N")
    for runtime in (".usr.lock", ".events.lock", ".usr-tmp-123", "_derived/densegen/.usr.lease.1"):
        put(folder, runtime, b"")
    return folder


def by_path(inventory: dict) -> dict[str, dict]:
    return {entry["path"]: entry for entry in inventory["files"]}


def test_every_file_gets_its_section_and_runtime_files_are_left_out(dataset: Path) -> None:
    inventory = scan_dataset(str(dataset))
    assert inventory["exists"] is True
    sections = {entry["path"]: entry["section"] for entry in inventory["files"]}
    assert sections == {
        ".events.log": "events",
        "_artifacts/checkpoint-2.json": "auxiliary",
        "_derived/densegen/part-20260101T000000000000-0123abcd.parquet": "derived",
        "_registry/registry.abc.yaml": "auxiliary",
        "_snapshots/records-20260101T000000000000.parquet": "snapshots",
        "meta.md": "meta",
        "notes.txt": "auxiliary",
        "records.parquet": "primary",
    }
    assert [entry["path"] for entry in inventory["files"]] == sorted(sections)


def test_entries_carry_the_files_stat_and_sha256(dataset: Path) -> None:
    entries = by_path(scan_dataset(str(dataset)))
    records = dataset / "records.parquet"
    info = records.stat()
    assert entries["records.parquet"] == {
        "path": "records.parquet",
        "section": "primary",
        "kind": "file",
        "size": info.st_size,
        "mtime_ns": info.st_mtime_ns,
        "sha256": sha(records.read_bytes()),
    }
    assert entries["notes.txt"]["sha256"] == sha(b"N")


def test_the_event_log_is_described_and_hashed_whatever_sections_are_asked(dataset: Path) -> None:
    inventory = scan_dataset(str(dataset), hash_sections=["primary"])
    entries = by_path(inventory)
    hashed = {path for path, entry in entries.items() if "sha256" in entry}
    assert hashed == {"records.parquet", ".events.log"} and entries[".events.log"]["sha256"] == sha(EVENTS)
    first = sha(EVENTS[: EVENTS.index(b"\n") + 1])
    assert inventory["events"] == {
        "size": len(EVENTS),
        "sha256": sha(EVENTS),
        "lines": 2,
        "first_sha256": first,
    }


def test_events_prefix_and_base_hash_the_logs_first_bytes(dataset: Path) -> None:
    first_line = EVENTS.index(b"\n") + 1
    events = scan_dataset(str(dataset), events_prefix=first_line, events_base=5)["events"]
    assert events["prefix_len"] == first_line and events["prefix_sha256"] == sha(EVENTS[:first_line])
    assert events["prefix_ends_line"] is True
    assert events["base_len"] == 5 and events["base_sha256"] == sha(EVENTS[:5])
    assert events["base_ends_line"] is False


@pytest.mark.parametrize("length", [None, -1, len(EVENTS) + 1])
def test_a_prefix_the_log_cannot_hold_adds_nothing(tmp_path: Path, length: int | None) -> None:
    log = put(tmp_path, ".events.log", EVENTS)
    events = {"size": len(EVENTS)}
    add_events_prefix(events, str(log), length)
    assert events == {"size": len(EVENTS)}


def test_an_empty_prefix_ends_a_line_and_the_whole_log_is_a_prefix(tmp_path: Path) -> None:
    log = put(tmp_path, ".events.log", EVENTS)
    events = {"size": len(EVENTS)}
    add_events_prefix(events, str(log), 0)
    add_events_prefix(events, str(log), len(EVENTS), key="base")
    assert events["prefix_sha256"] == sha(b"") and events["prefix_ends_line"] is True
    assert events["base_sha256"] == sha(EVENTS) and events["base_ends_line"] is True


def test_the_primary_footer_is_read_only_when_asked(dataset: Path) -> None:
    assert scan_dataset(str(dataset))["primary"] is None
    assert scan_dataset(str(dataset), parquet=True)["primary"] == {"rows": 7, "cols": 3}
    (dataset / "records.parquet").write_bytes(b"not parquet")
    assert "error" in scan_dataset(str(dataset), parquet=True)["primary"]


def test_symlinks_are_listed_with_their_target_and_never_followed(dataset: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    put(outside, "secret.parquet", b"X")
    os.symlink(outside, dataset / "_artifacts" / "linked-dir")
    os.symlink("../meta.md", dataset / "_artifacts" / "linked-file")
    entries = by_path(scan_dataset(str(dataset)))
    assert entries["_artifacts/linked-dir"]["kind"] == "symlink"
    assert entries["_artifacts/linked-dir"]["link"] == str(outside)
    assert entries["_artifacts/linked-file"]["link"] == "../meta.md"
    assert "sha256" not in entries["_artifacts/linked-file"]
    assert not [path for path in entries if "secret" in path]


def test_a_symlinked_primary_has_no_footer(dataset: Path, tmp_path: Path) -> None:
    real = tmp_path / "real.parquet"
    (dataset / "records.parquet").rename(real)
    os.symlink(real, dataset / "records.parquet")
    inventory = scan_dataset(str(dataset), parquet=True)
    assert by_path(inventory)["records.parquet"]["kind"] == "symlink" and inventory["primary"] is None


def test_a_fifo_is_listed_as_what_it_is_and_never_opened(dataset: Path) -> None:
    os.mkfifo(dataset / "_artifacts" / "pipe")
    entry = by_path(scan_dataset(str(dataset)))["_artifacts/pipe"]
    assert entry["kind"] == "fifo" and entry["section"] == "auxiliary" and "sha256" not in entry


def test_an_unsafe_name_is_flagged_and_never_hashed(dataset: Path) -> None:
    put(dataset, "_artifacts/bad\nname.txt", b"B")
    entry = by_path(scan_dataset(str(dataset)))["_artifacts/bad\nname.txt"]
    assert "control character" in entry["unsafe"] and "sha256" not in entry


def test_a_missing_or_symlinked_dataset_folder_does_not_exist(dataset: Path, tmp_path: Path) -> None:
    absent = {"exists": False, "files": [], "events": None, "primary": None}
    assert scan_dataset(str(tmp_path / "nowhere")) == absent
    os.symlink(dataset, tmp_path / "alias")
    assert scan_dataset(str(tmp_path / "alias")) == absent


def test_hashing_later_marks_files_pending_but_never_the_event_log(dataset: Path) -> None:
    hashes = HashCache()
    entries = by_path(scan_dataset(str(dataset), hashes=hashes, hash_later=lambda rel: True))
    assert entries[".events.log"]["sha256"] == sha(EVENTS) and "sha256_pending" not in entries[".events.log"]
    assert entries["records.parquet"]["sha256_pending"] is True and "sha256" not in entries["records.parquet"]
    assert hashes.sha256(str(dataset / "records.parquet")) == sha((dataset / "records.parquet").read_bytes())


def test_a_hash_the_command_already_holds_is_taken_from_its_cache(dataset: Path) -> None:
    hashes = HashCache()
    vouched = "f" * 64
    hashes.remember((dataset / "records.parquet").stat(), vouched)
    inventory = scan_dataset(str(dataset), hashes=hashes)
    assert by_path(inventory)["records.parquet"]["sha256"] == vouched
    assert hashes.reads == len(inventory["files"]) - 1


def test_a_generated_dataset_scans_into_every_section(tmp_path: Path) -> None:
    BatchSeries(3, records_per_round=15).run(tmp_path, "demo", 3)
    inventory = scan_dataset(str(tmp_path / "demo"), parquet=True)
    assert {entry["section"] for entry in inventory["files"]} == {
        "primary",
        "meta",
        "events",
        "snapshots",
        "derived",
        "auxiliary",
    }
    assert (
        inventory["primary"]["rows"] == pq.read_metadata(tmp_path / "demo" / "records.parquet").num_rows == 45
    )
    assert inventory["events"]["lines"] == count_lines(str(tmp_path / "demo" / ".events.log"))


def test_sha256_file_hashes_a_prefix_or_the_whole_file(tmp_path: Path) -> None:
    path = put(tmp_path, "blob", b"abcdef")
    assert sha256_file(str(path)) == sha(b"abcdef")
    assert sha256_file(str(path), 3) == sha(b"abc") and sha256_file(str(path), 0) == sha(b"")
    assert count_lines(str(path)) == 0 and count_lines(str(put(tmp_path, "two", b"a\nb\n"))) == 2
