"""A side's manifest from a scan or an agent reply (pure): entries, sections, log prefix facts, hashes."""

from __future__ import annotations

from dataclasses import fields

import pytest
from hypothesis import given
from hypothesis import strategies as st

from usr_harness.dataset.layout import section_of
from usr_harness.sync.inventory.manifest import FileEntry, Manifest
from usr_harness.sync.inventory.scan import ROW_FIELDS, as_rows

SCAN = {
    "exists": True,
    "files": [
        {"path": "records.parquet", "section": "primary", "kind": "file", "size": 10, "sha256": "aa"},
        {"path": "meta.md", "section": "meta", "kind": "file", "size": 3, "sha256": "bb", "mtime_ns": 7},
        {"path": ".events.log", "section": "events", "kind": "file", "size": 40, "sha256": "cc"},
        {
            "path": "_derived/a.parquet",
            "section": "derived",
            "kind": "file",
            "size": 5,
            "sha256_pending": True,
        },
        {"path": "notes.txt", "section": "auxiliary", "kind": "symlink", "size": 0, "link": "../x"},
    ],
    "events": {"size": 40, "sha256": "cc", "lines": 2, "prefix_len": 20, "prefix_sha256": "dd"},
    "primary": {"rows": 4, "cols": 2},
}

names = st.lists(
    st.sampled_from(
        [
            "records.parquet",
            "meta.md",
            ".events.log",
            "_snapshots/records-1.parquet",
            "_derived/p.parquet",
            "a.txt",
        ]
    ),
    unique=True,
)


def test_a_scan_becomes_entries_keyed_by_path_with_their_section_and_facts():
    manifest = Manifest.from_scan("local", SCAN)
    assert manifest.side == "local" and manifest.exists
    assert manifest.primary == FileEntry("records.parquet", "primary", "file", 10, sha256="aa")
    assert manifest.files["meta.md"].mtime_ns == 7
    assert manifest.events_entry.size == 40 and manifest.primary_stats == {"rows": 4, "cols": 2}
    link = manifest.files["notes.txt"]
    assert link.link == "../x" and not link.regular
    assert manifest.section("derived") == {"_derived/a.parquet": manifest.files["_derived/a.parquet"]}


def test_the_log_prefix_facts_are_carried_and_default_to_a_line_end():
    events = Manifest.from_scan("remote", SCAN).events
    assert (events.prefix_len, events.prefix_sha256, events.prefix_ends_line) == (20, "dd", True)
    assert (events.base_len, events.base_sha256, events.base_ends_line) == (None, None, True)
    assert events.as_dict() == {"size": 40, "sha256": "cc", "lines": 2}
    cut = {
        **SCAN,
        "events": {**SCAN["events"], "prefix_ends_line": False, "base_len": 9, "base_sha256": "ee"},
    }
    events = Manifest.from_scan("remote", cut).events
    assert not events.prefix_ends_line and (events.base_len, events.base_sha256) == (9, "ee")


def test_a_missing_side_has_no_files_no_log_and_no_primary():
    manifest = Manifest.from_scan("remote", {"exists": False})
    assert not manifest.exists and manifest.files == {}
    assert manifest.primary is None and manifest.events_entry is None and manifest.events is None


def test_pending_hashes_are_listed_and_filled_in_without_touching_the_rest():
    manifest = Manifest.from_scan("remote", SCAN)
    assert manifest.pending_hashes == ["_derived/a.parquet"]
    filled = manifest.with_hashes({"_derived/a.parquet": "ff"})
    assert filled.pending_hashes == [] and filled.files["_derived/a.parquet"].sha256 == "ff"
    assert filled.files["meta.md"] is manifest.files["meta.md"] and manifest.pending_hashes


def test_an_entry_reports_its_link_only_when_it_has_one():
    plain = FileEntry("meta.md", "meta", "file", 3, sha256="bb")
    assert plain.as_dict() == {
        "path": "meta.md",
        "section": "meta",
        "kind": "file",
        "size": 3,
        "sha256": "bb",
    }
    assert FileEntry("l", "auxiliary", "symlink", 0, link="t").as_dict()["link"] == "t"
    assert not FileEntry("x", "auxiliary", "file", 0, unsafe="bad name").regular


@given(names)
def test_every_path_lands_in_exactly_one_section(paths: list[str]):
    scan = {
        "exists": True,
        "files": [{"path": p, "section": section_of(p), "kind": "file", "size": 1} for p in paths],
    }
    manifest = Manifest.from_scan("local", scan)
    sections = ["primary", "meta", "events", "snapshots", "derived", "auxiliary"]
    found = [path for name in sections for path in manifest.section(name)]
    assert sorted(found) == sorted(paths)
    assert (manifest.primary is not None) == ("records.parquet" in paths)


def test_an_unsafe_name_and_the_log_start_facts_are_carried():
    scan = {
        "exists": True,
        "files": [{"path": "a\nb", "section": "auxiliary", "kind": "file", "size": 1, "unsafe": "odd name"}],
        "events": {
            **SCAN["events"],
            "base_len": 9,
            "base_sha256": "ee",
            "base_ends_line": False,
            "first_sha256": "ff",
        },
    }
    side = Manifest.from_scan("local", scan)
    assert side.files["a\nb"].unsafe == "odd name" and not side.files["a\nb"].regular
    assert (side.events.base_ends_line, side.events.first_sha256) == (False, "ff")


def test_an_agent_reply_in_rows_is_the_same_manifest_as_one_in_dicts() -> None:
    rows = {**SCAN, "files": as_rows(SCAN["files"]), "row_fields": ROW_FIELDS}
    assert Manifest.from_scan("remote", rows) == Manifest.from_scan("remote", SCAN)
    assert [field.name for field in fields(FileEntry)] == [
        "hash_pending" if name == "sha256_pending" else name for name in ROW_FIELDS
    ]


def test_the_sections_of_a_manifest_are_read_only() -> None:
    derived = Manifest.from_scan("local", SCAN).section("derived")
    assert list(derived) == ["_derived/a.parquet"]
    with pytest.raises(TypeError):
        derived["_derived/b.parquet"] = derived["_derived/a.parquet"]  # type: ignore[index]
    assert Manifest.from_scan("local", SCAN).section("snapshots") == {}
