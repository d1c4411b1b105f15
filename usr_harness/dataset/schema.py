"""The core record schema and every rule a records table must keep.

Checks are vectorised (pyarrow.compute) so a million-row import costs well under a
second beyond hashing; each failure names the dataset, the column and the first bad
row with its id, because that is what an operator needs to find it in the input.
"""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc

from usr_harness.dataset.ids import compute_ids, strip_sequences
from usr_harness.errors import SchemaError, ValidationError

CORE_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("bio_type", pa.string(), nullable=False),
        pa.field("sequence", pa.string(), nullable=False),
        pa.field("alphabet", pa.string(), nullable=False),
        pa.field("length", pa.int32(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("created_at", pa.timestamp("us", tz="UTC"), nullable=False),
    ]
)
CORE_COLUMNS: tuple[str, ...] = tuple(CORE_SCHEMA.names)

SCHEMA_VERSION = "1"
ID_HASH = "sha1_utf8_pipe"
META_SCHEMA_VERSION = "usr:schema_version"
META_ID_HASH = "usr:id_hash"
META_DATASET_CREATED_AT = "usr:dataset_created_at"
META_REGISTRY_HASH = "usr:registry_hash"
RECORDS_METADATA = {META_SCHEMA_VERSION: SCHEMA_VERSION, META_ID_HASH: ID_HASH}
"""Fixed kv metadata of records.parquet; it also carries the creation time and the registry hash."""

BIO_TYPES: tuple[str, ...] = ("dna", "rna", "protein")

ALPHABETS: dict[str, str] = {
    "dna_4": "ACGT",
    "dna_5": "ACGTN",
    "rna_4": "ACGU",
    "rna_5": "ACGUN",
    "protein_20": "ACDEFGHIKLMNPQRSTVWY",
    "protein_21": "ACDEFGHIKLMNPQRSTVWYX",
}
"""Symbols per alphabet, matched case-insensitively. protein_21 adds X (any/unknown residue); the
stop symbol `*` is not a residue and is refused everywhere."""

ALPHABETS_BY_BIO_TYPE: dict[str, tuple[str, ...]] = {
    bio_type: tuple(name for name in ALPHABETS if name.startswith(f"{bio_type}_")) for bio_type in BIO_TYPES
}

SAMPLE = 5
"""How many offending values an error message lists."""


def sample(values: list[object]) -> str:
    """`a, b, c (and 7 more)`: enough to find the culprits without flooding a terminal."""
    shown = ", ".join(str(v) for v in values[:SAMPLE])
    return shown + (f" (and {len(values) - SAMPLE} more)" if len(values) > SAMPLE else "")


def _first(mask: pa.Array | pa.ChunkedArray) -> int | None:
    """Row index of the first true value of `mask` (nulls count as false), or None."""
    index = pc.index(pc.fill_null(mask, False), True).as_py()
    return None if index < 0 else index


def _row(table: pa.Table, index: int) -> str:
    """`row 17 (id 1a2b...)`, the id only when it is there to name."""
    if "id" in table.column_names:
        value = table.column("id")[index].as_py()
        if value is not None:
            return f"row {index} (id {value})"
    return f"row {index}"


def check_core_columns(table: pa.Table, *, dataset: str, what: str = "records") -> None:
    """Exactly the core columns, each of its core type: the schema half of the rules."""
    missing = [name for name in CORE_COLUMNS if name not in table.column_names]
    if missing:
        raise SchemaError(f"{dataset}: {what} lack core column(s) {', '.join(missing)}", dataset=dataset)
    extra = [name for name in table.column_names if name not in CORE_COLUMNS]
    if extra:
        raise SchemaError(
            f"{dataset}: {what} carry non-core column(s) {', '.join(extra)}; "
            f"core columns are {', '.join(CORE_COLUMNS)} (overlay data goes through attach)",
            dataset=dataset,
        )
    if len(set(table.column_names)) != len(table.column_names):
        raise SchemaError(f"{dataset}: {what} repeat a column name", dataset=dataset)
    for field in CORE_SCHEMA:
        actual = table.schema.field(field.name).type
        if not actual.equals(field.type):
            hint = " (naive timestamps are refused: give a time zone)" if field.name == "created_at" else ""
            raise SchemaError(
                f"{dataset}: {what} column {field.name} is {actual}, expected {field.type}{hint}",
                dataset=dataset,
            )


NULL_CHECK_ORDER = ("bio_type", "sequence", "alphabet", "source", "created_at", "length", "id")
"""Inputs before derived columns, so a null sequence is reported as such, not as the null id it causes."""


def _check_nulls(table: pa.Table, dataset: str) -> None:
    for name in NULL_CHECK_ORDER:
        column = table.column(name)
        if column.null_count:
            index = _first(pc.is_null(column))
            raise ValidationError(
                f"{dataset}: column {name} has a null at {_row(table, index)}; core columns are non-null",
                dataset=dataset,
            )


def _check_bio_types(table: pa.Table, dataset: str) -> None:
    bio = table.column("bio_type")
    index = _first(pc.match_substring(bio, "|"))
    if index is not None:
        raise ValidationError(
            f"{dataset}: bio_type {bio[index].as_py()!r} at {_row(table, index)} contains '|', "
            "the id separator",
            dataset=dataset,
        )
    index = _first(pc.invert(pc.is_in(bio, value_set=pa.array(BIO_TYPES))))
    if index is not None:
        raise ValidationError(
            f"{dataset}: bio_type {bio[index].as_py()!r} at {_row(table, index)} is not one of "
            f"{', '.join(BIO_TYPES)}",
            dataset=dataset,
        )


def _check_alphabets(table: pa.Table, stripped: pa.Array, dataset: str) -> None:
    alphabet = table.column("alphabet")
    index = _first(pc.invert(pc.is_in(alphabet, value_set=pa.array(list(ALPHABETS)))))
    if index is not None:
        raise ValidationError(
            f"{dataset}: unknown alphabet {alphabet[index].as_py()!r} at {_row(table, index)}; "
            f"choose from {', '.join(ALPHABETS)}",
            dataset=dataset,
        )
    family = pc.replace_substring_regex(alphabet, "_.*$", "")
    index = _first(pc.not_equal(family, table.column("bio_type")))
    if index is not None:
        raise ValidationError(
            f"{dataset}: alphabet {alphabet[index].as_py()} does not belong to bio_type "
            f"{table.column('bio_type')[index].as_py()} at {_row(table, index)}",
            dataset=dataset,
        )
    index = _first(pc.equal(pc.utf8_length(stripped), 0))
    if index is not None:
        raise ValidationError(f"{dataset}: sequence at {_row(table, index)} is empty", dataset=dataset)
    for name in sorted(pc.unique(alphabet).to_pylist()):
        symbols = ALPHABETS[name]
        bad = pc.and_(
            pc.equal(alphabet, name),
            pc.invert(pc.match_substring_regex(stripped, f"^[{re.escape(symbols)}]+$", ignore_case=True)),
        )
        index = _first(bad)
        if index is not None:
            sequence = stripped[index].as_py()
            outside = sorted({ch for ch in sequence if ch.upper() not in symbols})
            raise ValidationError(
                f"{dataset}: sequence at {_row(table, index)} has symbol(s) {''.join(outside)!r} outside "
                f"alphabet {name} ({symbols}, any case)",
                dataset=dataset,
            )


def _check_lengths(table: pa.Table, stripped: pa.Array, dataset: str) -> None:
    expected = pc.utf8_length(stripped).cast(pa.int32())
    index = _first(pc.not_equal(table.column("length"), expected))
    if index is not None:
        raise ValidationError(
            f"{dataset}: length at {_row(table, index)} is {table.column('length')[index].as_py()}, "
            f"but the stripped sequence has {expected[index].as_py()} symbols",
            dataset=dataset,
        )


def _check_ids(table: pa.Table, expected: pa.Array, dataset: str) -> None:
    index = _first(pc.not_equal(table.column("id"), expected))
    if index is not None:
        raise ValidationError(
            f"{dataset}: id at row {index} is {table.column('id')[index].as_py()}, expected "
            f"{expected[index].as_py()} = sha1('<bio_type>|<sequence.strip()>')",
            dataset=dataset,
        )


def duplicate_values(values: pa.Array | pa.ChunkedArray) -> list[str]:
    """Values that occur more than once, sorted (empty when all are unique)."""
    counts = pc.value_counts(values)
    repeated = counts.filter(pc.greater(counts.field("counts"), 1)).field("values")
    return sorted(str(value) for value in repeated.to_pylist())


def _check_unique(table: pa.Table, dataset: str) -> None:
    repeated = duplicate_values(table.column("id"))
    if repeated:
        raise ValidationError(f"{dataset}: duplicate ids: {sample(repeated)}", dataset=dataset)


def validate_records(table: pa.Table, *, dataset: str, ids: pa.Array | None = None) -> None:
    """Every core rule: columns and types, non-null, bio types, alphabets, lengths, ids, uniqueness.

    `ids` are the ids recomputed from bio_type and sequence, when the caller already has them.
    """
    check_core_columns(table, dataset=dataset)
    _check_nulls(table, dataset)
    _check_bio_types(table, dataset)
    stripped = strip_sequences(table.column("sequence"))
    _check_alphabets(table, stripped, dataset)
    _check_lengths(table, stripped, dataset)
    _check_ids(table, ids if ids is not None else compute_ids(table.column("bio_type"), stripped), dataset)
    _check_unique(table, dataset)
