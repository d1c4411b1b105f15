"""The declared detections are complete, consistent with SPEC §3, and honest about blind spots."""

from __future__ import annotations

import json

import pytest

from usr_harness.corrupt import CATALOGUE, COMMANDS, PROFILES, SIDES, get
from usr_harness.corrupt.expectations import SAME_SIZE_KINDS, SIZE_COMPARED
from usr_harness.corrupt.injectors import INJECTORS
from usr_harness.errors import FAMILY_BY_NAME

NON_ERRORS = ("changed", "kept", "blind", "n/a")


def test_ids_are_unique_ordered_and_named_section_dot_kind() -> None:
    ids = [entry.id for entry in CATALOGUE]
    assert len(ids) == len(set(ids))
    assert all(entry.id == f"{entry.section}.{entry.kind}" for entry in CATALOGUE)
    sections = [entry.section for entry in CATALOGUE]
    order = ["primary", "meta", "events", "snapshots", "derived", "auxiliary", "registry"]
    assert sorted(sections, key=order.index) == sections
    assert {entry.kind for entry in CATALOGUE} == set(INJECTORS)


@pytest.mark.parametrize("entry", CATALOGUE, ids=lambda entry: entry.id)
def test_every_cell_declared_once_with_a_known_outcome(entry) -> None:
    cells = [(row.side, row.command, row.profile) for row in entry.expected]
    assert sorted(cells) == sorted((s, c, p) for s in SIDES for c in COMMANDS for p in PROFILES)
    for row in entry.expected:
        assert row.outcome in NON_ERRORS or row.outcome in FAMILY_BY_NAME
        assert row.is_error == (row.outcome not in NON_ERRORS)
        assert row.token is None or row.is_error
        if row.command == "validate":
            assert row.outcome == entry.expect(row.side, "validate").outcome, "validate has no profiles"
    assert all(entry.expect("remote", "validate", p).outcome == "n/a" for p in PROFILES)


@pytest.mark.parametrize("entry", CATALOGUE, ids=lambda entry: entry.id)
def test_sync_is_blind_only_where_a_weaker_profile_compares_by_size(entry) -> None:
    for row in entry.expected:
        strict = entry.expect(row.side, row.command).outcome
        if row.outcome == "blind" and row.command != "validate":
            assert row.profile != "strict" and strict != "n/a"
            assert entry.kind in SAME_SIZE_KINDS and entry.section in SIZE_COMPARED[row.profile]
        else:
            assert row.outcome == strict


def test_examples_from_the_contract() -> None:
    flip = get("derived.byte-flip")
    assert flip.expect("remote", "pull").outcome == "sidecars"
    assert flip.expect("remote", "pull", "no-derived-hashes").outcome == "blind"
    assert flip.expect("local", "diff", "no-sidecars").outcome == "blind"
    assert get("snapshots.byte-flip").expect("remote", "pull", "no-derived-hashes").outcome == "sidecars"
    assert get("primary.byte-flip").expect("remote", "pull", "size").outcome == "blind"
    assert get("primary.truncate").expect("remote", "pull", "size").outcome == "verify"
    stray = get("derived.stray-file")
    assert stray.expect("local", "pull").outcome == stray.expect("remote", "push").outcome == "kept"
    assert stray.expect("remote", "pull").outcome == "changed"
    assert get("auxiliary.rename").expect("remote", "push").outcome == "changed"
    symlink = get("auxiliary.symlink-outside").expect("remote", "pull")
    assert (symlink.outcome, symlink.token) == ("sidecars", "symlink entry")
    missing = get("primary.delete").expect("remote", "pull")
    assert (missing.outcome, missing.token) == ("verify", "remote records.parquet is missing")
    assert get("meta.byte-flip").expect("remote", "push").outcome == "diverged"
    assert get("meta.byte-flip").expect("local", "pull").outcome == "diverged"
    assert get("events.truncate").expect("remote", "push").outcome == "changed"
    for kind in (
        "cut-mid-line",
        "branched",
        "reordered",
        "invalid-utf8",
        "oversize-record",
        "no-final-newline",
    ):
        for profile in PROFILES:
            assert get(f"events.{kind}").expect("remote", "pull", profile).outcome == "events"
    assert get("registry.append-garbage").expect("local", "validate").outcome == "registry"
    assert get("registry.hash-drift").expect("local", "validate").outcome == "blind"
    assert get("primary.fifo").expect("local", "validate").outcome == "dataset"
    assert get("derived.footer-damage").expect("local", "validate").outcome == "schema"


def test_json_shape_round_trips() -> None:
    data = json.loads(json.dumps([entry.as_dict() for entry in CATALOGUE]))
    first = data[0]
    assert set(first["expected"]) == set(SIDES)
    assert set(first["expected"]["local"]) == set(COMMANDS)
    assert set(first["expected"]["local"]["pull"]) == set(PROFILES)
