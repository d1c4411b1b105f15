"""Ids: sha1 of UTF-8 `bio_type|sequence.strip()`, the same in bulk as one at a time."""

from __future__ import annotations

import hashlib

import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from usr_harness.dataset.ids import compute_ids, record_id, strip_sequences


def test_record_id_is_sha1_of_type_pipe_stripped_sequence() -> None:
    assert record_id("dna", "ACGT") == hashlib.sha1(b"dna|ACGT").hexdigest()
    assert record_id("dna", "  ACGT\n") == record_id("dna", "ACGT")
    assert record_id("dna", "acgt") != record_id("dna", "ACGT")
    assert record_id("rna", "ACGU") != record_id("dna", "ACGU")


def test_strip_follows_python_str_strip_including_unicode_whitespace() -> None:
    values = ["\u3000ACGT\x1c", "AC GT", " ", "ACGT", None]
    assert strip_sequences(values).to_pylist() == ["ACGT", "AC GT", "", "ACGT", None]


def test_compute_ids_accepts_lists_arrays_and_chunked_arrays() -> None:
    expected = [record_id("dna", "ACGT"), record_id("protein", "MK")]
    assert compute_ids(["dna", "protein"], ["ACGT", " MK "]).to_pylist() == expected
    chunked = pa.chunked_array([["dna"], ["protein"]])
    assert compute_ids(chunked, pa.array(["ACGT", "MK"])).to_pylist() == expected
    assert compute_ids(["dna", None], ["A", "C"]).to_pylist()[1] is None


@given(st.lists(st.tuples(st.sampled_from(["dna", "rna", "protein"]), st.text(max_size=30)), max_size=20))
def test_bulk_ids_equal_single_ids_and_are_deterministic(rows: list[tuple[str, str]]) -> None:
    bio_types = [bio for bio, _ in rows]
    sequences = [sequence for _, sequence in rows]
    bulk = compute_ids(bio_types, sequences).to_pylist()
    assert bulk == [record_id(bio, sequence) for bio, sequence in rows]
    assert bulk == compute_ids(pa.array(bio_types, pa.string()), pa.array(sequences, pa.string())).to_pylist()


@given(st.text(max_size=30), st.text(alphabet=" \t\n\u3000\x85", max_size=3))
def test_ids_ignore_surrounding_whitespace(sequence: str, pad: str) -> None:
    assert record_id("dna", pad + sequence + pad) == record_id("dna", sequence)


def test_whitespace_table_is_exactly_what_str_strip_removes() -> None:
    from usr_harness.dataset.ids import WHITESPACE

    assert "".join(ch for ch in map(chr, range(0x110000)) if ch.isspace()) == WHITESPACE
