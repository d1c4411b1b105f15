"""Turn rows to import into core records: coerce what the input may carry, derive ids and lengths, check.

Input columns: bio_type, sequence, alphabet (required); source, created_at (optional,
defaulted from the call); id and length (optional, and then they must agree with what
is derived). Anything else is refused: a near-miss such as `Sequence` is a typo, not
data to drop silently.
"""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc

from usr_harness.dataset.ids import compute_ids, strip_sequences
from usr_harness.dataset.schema import CORE_COLUMNS, CORE_SCHEMA, validate_records
from usr_harness.errors import SchemaError, ValidationError

REQUIRED_INPUT = ("bio_type", "sequence", "alphabet")
TIMESTAMP = pa.timestamp("us", tz="UTC")
INPUT_TYPES: dict[str, pa.DataType] = {
    "id": pa.string(),
    "bio_type": pa.string(),
    "sequence": pa.string(),
    "alphabet": pa.string(),
    "source": pa.string(),
    "length": pa.int64(),
    "created_at": pa.string(),
}
"""How text inputs (CSV, JSONL) are parsed: timestamps stay text until they are checked for a zone."""


def _flat(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def _text(table: pa.Table, name: str, dataset: str) -> pa.Array:
    column = _flat(table.column(name))
    kind = column.type
    if pa.types.is_string(kind):
        return column
    if (
        pa.types.is_large_string(kind)
        or pa.types.is_null(kind)
        or (pa.types.is_dictionary(kind) and pa.types.is_string(kind.value_type))
    ):
        return column.cast(pa.string())
    raise SchemaError(f"{dataset}: records column {name} is {kind}, expected string", dataset=dataset)


def _lengths(table: pa.Table, dataset: str) -> pa.Array:
    column = _flat(table.column("length"))
    if not (pa.types.is_integer(column.type) or pa.types.is_null(column.type)):
        raise SchemaError(
            f"{dataset}: records column length is {column.type}, expected int32", dataset=dataset
        )
    try:
        return column.cast(pa.int32())
    except pa.ArrowInvalid:
        raise ValidationError(
            f"{dataset}: records column length holds values beyond int32", dataset=dataset
        ) from None


def _timestamps(table: pa.Table, dataset: str) -> pa.Array:
    column = _flat(table.column("created_at"))
    kind = column.type
    if pa.types.is_timestamp(kind) and kind.tz is None:
        raise SchemaError(
            f"{dataset}: records column created_at is {kind} without a time zone; naive timestamps are "
            "refused (give UTC, e.g. 2026-01-01T00:00:00Z)",
            dataset=dataset,
        )
    if not (
        pa.types.is_timestamp(kind)
        or pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or pa.types.is_null(kind)
    ):
        raise SchemaError(
            f"{dataset}: records column created_at is {kind}, expected timestamp", dataset=dataset
        )
    try:
        return column.cast(TIMESTAMP)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
        raise SchemaError(
            f"{dataset}: records column created_at: {' '.join(str(error).split())} (timestamps need a zone "
            "offset such as Z and at most microsecond precision)",
            dataset=dataset,
        ) from None


def _constant(value: object, kind: pa.DataType, n: int) -> pa.Array:
    return pa.repeat(pa.scalar(value, kind), n)


def prepare_rows(table: pa.Table, *, dataset: str, source: str | None, now: datetime) -> pa.Table:
    """Core records (CORE_SCHEMA) for `table`, or the first broken rule as a Schema/ValidationError."""
    names = table.column_names
    if len(set(names)) != len(names):
        raise SchemaError(
            f"{dataset}: records input repeats a column name: {', '.join(names)}", dataset=dataset
        )
    missing = [name for name in REQUIRED_INPUT if name not in names]
    if missing:
        raise SchemaError(f"{dataset}: records input lacks column(s) {', '.join(missing)}", dataset=dataset)
    unknown = [name for name in names if name not in CORE_COLUMNS]
    if unknown:
        raise SchemaError(
            f"{dataset}: records input has unknown column(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(CORE_COLUMNS)} (overlay columns go through attach)",
            dataset=dataset,
        )
    n = table.num_rows
    if n == 0:
        raise ValidationError(f"{dataset}: records input has no rows", dataset=dataset)
    bio_types = _text(table, "bio_type", dataset)
    sequences = strip_sequences(_text(table, "sequence", dataset))
    if "source" in names:
        sources = _text(table, "source", dataset)
        if source is not None:
            sources = pc.fill_null(sources, source)
    else:
        sources = _constant(source or "", pa.string(), n)
    derived = compute_ids(bio_types, sequences)
    columns = {
        "id": _text(table, "id", dataset) if "id" in names else derived,
        "bio_type": bio_types,
        "sequence": sequences,
        "alphabet": _text(table, "alphabet", dataset),
        "length": _lengths(table, dataset)
        if "length" in names
        else pc.utf8_length(sequences).cast(pa.int32()),
        "source": sources,
        "created_at": _timestamps(table, dataset) if "created_at" in names else _constant(now, TIMESTAMP, n),
    }
    rows = pa.table([columns[name] for name in CORE_COLUMNS], names=list(CORE_COLUMNS))
    validate_records(rows, dataset=dataset, ids=derived)
    return rows.cast(CORE_SCHEMA)
