"""Input tables for import and attach: an Arrow table as given, or a CSV, JSONL or parquet file.

Text formats carry no types, so columns the caller knows are parsed as the types it
expects (registry types for overlays); everything else is inferred and left for the
schema checks to judge. An unreadable file is a SchemaError naming it and its format.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.json as pjson
import pyarrow.parquet as pq

from usr_harness.dataset.quoting import quote
from usr_harness.errors import SchemaError, UsageError

FORMATS = ("csv", "jsonl", "parquet")
LABELS = {"csv": "CSV", "jsonl": "JSONL", "parquet": "parquet"}
SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".parquet": "parquet"}


def input_format(path: Path, fmt: str | None) -> str:
    """The format named by `fmt`, else the one the file suffix implies."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise UsageError(f"unknown input format {fmt!r}; choose from {', '.join(FORMATS)}")
        return fmt
    try:
        return SUFFIXES[path.suffix.lower()]
    except KeyError:
        raise UsageError(
            f"{quote(path)}: cannot tell the format from the suffix {path.suffix!r}; pass --format "
            f"({', '.join(FORMATS)})"
        ) from None


def _read_csv(path: Path, types: dict[str, pa.DataType]) -> pa.Table:
    flat = {name: kind for name, kind in types.items() if not pa.types.is_nested(kind)}
    options = pcsv.ConvertOptions(column_types=flat, strings_can_be_null=False)
    return pcsv.read_csv(path, convert_options=options)


def _read_jsonl(path: Path, types: dict[str, pa.DataType]) -> pa.Table:
    """Two passes: the first learns which keys occur (absent columns stay absent), the second types them."""
    present = pjson.read_json(path).column_names
    schema = pa.schema([(name, types[name]) for name in present if name in types])
    options = pjson.ParseOptions(explicit_schema=schema, unexpected_field_behavior="infer")
    return pjson.read_json(path, parse_options=options)


def load_input(
    data: pa.Table | Path | str,
    *,
    fmt: str | None = None,
    types: dict[str, pa.DataType] | None = None,
    dataset: str = "",
) -> pa.Table:
    """`data` itself when it is a table, else the file read in its format."""
    if isinstance(data, pa.Table):
        return data
    path = Path(data)
    kind = input_format(path, fmt)
    if not path.is_file():
        message = f"{dataset}: input file {quote(path)} does not exist or is not a file"
        raise UsageError(message, dataset=dataset)
    try:
        if kind == "parquet":
            return pq.ParquetFile(path).read()
        if kind == "csv":
            return _read_csv(path, types or {})
        return _read_jsonl(path, types or {})
    except (OSError, pa.ArrowException, ValueError) as error:
        raise SchemaError(
            f"{dataset}: {quote(path)} is not a readable {LABELS[kind]} file "
            f"({' '.join(str(error).split())})",
            dataset=dataset,
            paths=[str(path)],
        ) from None


def select_input(
    table: pa.Table, *, key: str, key_col: str | None, columns: list[str] | None, where: str
) -> pa.Table:
    """The input's `key_col` renamed to the join key and only `columns` kept beside it (attach).

    Names are taken as given: a bare `field` is not widened to `<namespace>__field`, so
    the part checks refuse it by name instead of attaching something the operator did not write.
    """
    if key_col and key_col != key:
        if key_col not in table.column_names:
            raise SchemaError(f"{where}: input has no key column {key_col!r} (--key-col)")
        if key in table.column_names:
            raise SchemaError(f"{where}: input has both {key_col!r} (--key-col) and {key!r}; keep one")
        table = table.rename_columns([key if name == key_col else name for name in table.column_names])
    if columns is None:
        return table
    missing = [name for name in columns if name not in table.column_names]
    if missing:
        raise SchemaError(f"{where}: input has no column(s) {', '.join(missing)} (--columns)")
    return table.select([key, *[name for name in columns if name != key]])
