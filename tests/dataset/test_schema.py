"""Every core rule of `validate_records`, each failure naming the column and the first bad row."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
import pytest

from usr_harness.dataset.ids import compute_ids
from usr_harness.dataset.schema import (
    ALPHABETS,
    ALPHABETS_BY_BIO_TYPE,
    BIO_TYPES,
    CORE_COLUMNS,
    CORE_SCHEMA,
    validate_records,
)
from usr_harness.errors import SchemaError, ValidationError


def records(rows: list[tuple[str, str, str]]) -> pa.Table:
    """A valid-by-construction core table for (bio_type, sequence, alphabet) rows."""
    bio = [row[0] for row in rows]
    sequences = [row[1] for row in rows]
    return pa.table(
        {
            "id": compute_ids(bio, sequences),
            "bio_type": bio,
            "sequence": sequences,
            "alphabet": [row[2] for row in rows],
            "length": pa.array([len(s.strip()) for s in sequences], pa.int32()),
            "source": ["unit"] * len(rows),
            "created_at": pa.array([datetime(2026, 1, 1, tzinfo=UTC)] * len(rows), pa.timestamp("us", "UTC")),
        }
    )


GOOD = [("dna", "ACGT", "dna_4"), ("rna", "acgun", "rna_5"), ("protein", "MKXW", "protein_21")]


def replace(table: pa.Table, name: str, values: pa.Array | list) -> pa.Table:
    array = values if isinstance(values, pa.Array) else pa.array(values)
    return table.set_column(table.column_names.index(name), name, array)


def test_core_schema_and_alphabets() -> None:
    assert CORE_COLUMNS == ("id", "bio_type", "sequence", "alphabet", "length", "source", "created_at")
    assert all(not field.nullable for field in CORE_SCHEMA)
    assert CORE_SCHEMA.field("created_at").type == pa.timestamp("us", tz="UTC")
    assert ALPHABETS["dna_4"] == "ACGT" and ALPHABETS["rna_5"] == "ACGUN"
    assert len(ALPHABETS["protein_20"]) == 20 and ALPHABETS["protein_21"] == ALPHABETS["protein_20"] + "X"
    assert BIO_TYPES == ("dna", "rna", "protein")
    assert ALPHABETS_BY_BIO_TYPE["protein"] == ("protein_20", "protein_21")


def test_valid_records_pass_with_any_case() -> None:
    validate_records(records(GOOD), dataset="demo")
    validate_records(CORE_SCHEMA.empty_table(), dataset="demo")


@pytest.mark.parametrize(
    ("edit", "token"),
    [
        (lambda t: t.drop_columns(["alphabet"]), "alphabet"),
        (lambda t: t.append_column("Sequence", t.column("sequence")), "Sequence"),
        (lambda t: replace(t, "length", t.column("length").cast(pa.int64())), "length"),
        (lambda t: replace(t, "created_at", t.column("created_at").cast(pa.timestamp("us"))), "created_at"),
        (
            lambda t: replace(t, "created_at", t.column("created_at").cast(pa.timestamp("ns", "UTC"))),
            "created_at",
        ),
    ],
)
def test_schema_breaks_are_schema_errors(edit, token: str) -> None:
    with pytest.raises(SchemaError, match=token) as caught:
        validate_records(edit(records(GOOD)), dataset="demo")
    assert caught.value.message.startswith("demo: ")


@pytest.mark.parametrize(
    "column", ["bio_type", "sequence", "alphabet", "source", "created_at", "length", "id"]
)
def test_a_null_in_any_core_column_is_named(column: str) -> None:
    table = records(GOOD)
    values = table.column(column).to_pylist()
    values[1] = None
    table = replace(table, column, pa.array(values, table.schema.field(column).type))
    with pytest.raises(ValidationError, match=f"column {column} has a null at row 1"):
        validate_records(table, dataset="demo")


def _with(rows: list[tuple[str, str, str]], **columns: list) -> pa.Table:
    table = records(rows)
    for name, values in columns.items():
        table = replace(table, name, pa.array(values, table.schema.field(name).type))
    return table


@pytest.mark.parametrize(
    ("table", "token"),
    [
        (records([*GOOD, ("dna|rna", "ACGT", "dna_4")]), "contains '|'"),
        (records([*GOOD, ("peptide", "MK", "protein_20")]), "bio_type 'peptide' at row 3"),
        (records([*GOOD, ("dna", "ACGT", "dna_6")]), "unknown alphabet 'dna_6'"),
        (records([*GOOD, ("dna", "ACGU", "rna_4")]), "does not belong to bio_type dna"),
        (records([*GOOD, ("dna", "ACGTN", "dna_4")]), "symbol(s) 'N' outside alphabet dna_4"),
        (records([*GOOD, ("protein", "MK*", "protein_21")]), "outside alphabet protein_21"),
        (records([*GOOD, ("dna", "   ", "dna_4")]), "is empty"),
        (_with(GOOD, length=[4, 5, 5]), "length at row 2"),
        (_with(GOOD, id=["0" * 40, *records(GOOD).column("id").to_pylist()[1:]]), "id at row 0"),
        (records([*GOOD, GOOD[0]]), "duplicate ids"),
    ],
)
def test_value_breaks_are_validation_errors_naming_the_row(table: pa.Table, token: str) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_records(table, dataset="demo")
    assert token in caught.value.message


def test_bad_symbol_error_names_the_row_and_its_id() -> None:
    table = records([*GOOD, ("dna", "ACGTZ", "dna_4")])
    with pytest.raises(ValidationError, match=f"row 3 \\(id {table.column('id')[3].as_py()}\\)"):
        validate_records(table, dataset="demo")
