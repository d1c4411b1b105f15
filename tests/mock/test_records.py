"""Mock core records: valid by construction, reproducible from the seed, broken only on request."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from usr_harness.dataset import Dataset
from usr_harness.dataset.context import seeded_context
from usr_harness.dataset.ids import record_id
from usr_harness.dataset.schema import CORE_SCHEMA
from usr_harness.errors import ValidationError
from usr_harness.mock.records import alphabet_symbols, mock_records, seed_origin
from usr_harness.mock.sequences import invalid_symbol


@pytest.mark.parametrize(
    ("bio_type", "alphabet"),
    [
        ("dna", "dna_4"),
        ("dna", "dna_5"),
        ("rna", "rna_4"),
        ("rna", "rna_5"),
        ("protein", "protein_20"),
        ("protein", "protein_21"),
    ],
)
def test_rows_follow_the_core_rules(bio_type: str, alphabet: str) -> None:
    table = mock_records(3, 300, bio_type=bio_type, alphabet=alphabet, length_range=(5, 9), source="unit")
    assert table.schema.equals(CORE_SCHEMA)
    rows = table.to_pylist()
    symbols = set(alphabet_symbols(alphabet))
    for row in rows:
        assert row["id"] == record_id(bio_type, row["sequence"])
        assert 5 <= row["length"] == len(row["sequence"]) <= 9
        assert set(row["sequence"]) <= symbols
        assert (row["bio_type"], row["alphabet"], row["source"]) == (bio_type, alphabet, "unit")
    assert len({row["id"] for row in rows}) == len(rows)
    assert rows[0]["created_at"] == seed_origin(3)


def test_default_alphabet_follows_the_bio_type() -> None:
    assert mock_records(1, 3, bio_type="protein").column("alphabet").to_pylist() == ["protein_20"] * 3
    assert mock_records(1, 3, bio_type="rna").column("alphabet").to_pylist() == ["rna_4"] * 3


def test_same_seed_same_table_and_different_seed_differs() -> None:
    assert mock_records(11, 500).equals(mock_records(11, 500))
    assert not mock_records(11, 500).column("sequence").equals(mock_records(12, 500).column("sequence"))


def test_invalid_alphabet_breaks_every_row_exactly_once() -> None:
    table = mock_records(5, 200, alphabet="dna_5", invalid_alphabet=True)
    bad = invalid_symbol(alphabet_symbols("dna_5"))
    counts = pc.count_substring(table.column("sequence"), bad).to_pylist()
    assert counts == [1] * 200


def test_zero_rows_and_bad_ranges() -> None:
    assert mock_records(1, 0).num_rows == 0
    with pytest.raises(ValueError, match="length_range"):
        mock_records(1, 5, length_range=(0, 3))
    with pytest.raises(ValueError, match="unknown alphabet"):
        mock_records(1, 5, alphabet="dna_9")


def test_dataset_accepts_valid_rows_and_rejects_the_broken_alphabet(tmp_path) -> None:
    dataset = Dataset.init(tmp_path, "demo", ctx=seeded_context(1))
    assert dataset.import_rows(mock_records(1, 400, bio_type="protein")) == 400
    dataset.validate(strict=True)
    with pytest.raises(ValidationError, match="alphabet"):
        dataset.import_rows(mock_records(2, 10, invalid_alphabet=True))
    assert isinstance(dataset.read(), pa.Table)
