"""Overlay parts (`_derived/<namespace>/part-<stamp>-<hex>.parquet`): the rules they keep, and the merge.

A part adds registered `<namespace>__<field>` columns to records, joined on `id` or
`sequence`. Parts are immutable once written; reading merges them last-writer-wins
(newest `usr:overlay_created_at` first, then file name, both descending), row by row:
the newest part holding a key decides every column it carries for that key.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from usr_harness.dataset.fsio import file_kind
from usr_harness.dataset.layout import DERIVED_DIR, DERIVED_PART_NAME
from usr_harness.dataset.parquet_io import read_kv_metadata
from usr_harness.dataset.registry import NamespaceSpec
from usr_harness.dataset.schema import CORE_COLUMNS, META_REGISTRY_HASH, duplicate_values, sample
from usr_harness.dataset.stamps import file_stamp
from usr_harness.errors import SchemaError, UsageError, ValidationError, VerifyError

KEYS = ("id", "sequence")
MAX_CELL_BYTES = 16 << 20
"""Largest string cell (16 MiB): bigger values belong in `_artifacts/`, not in a column."""
MAX_LIST_ITEMS = 1 << 20
"""Most elements in one list cell (1,048,576)."""

META_NAMESPACE = "usr:overlay_namespace"
META_KEY = "usr:overlay_key"
META_CREATED_AT = "usr:overlay_created_at"
META_CONTRACT_HASH = "usr:namespace_contract_hash"
PART_METADATA_KEYS = (META_NAMESPACE, META_KEY, META_CREATED_AT, META_REGISTRY_HASH, META_CONTRACT_HASH)


@dataclass(frozen=True)
class PartInfo:
    """Where a part is and what its metadata says; `order` sorts oldest to newest."""

    path: Path
    namespace: str
    key: str
    created_at: str
    metadata: dict[str, str]

    @property
    def order(self) -> tuple[str, str]:
        return (self.created_at, self.path.name)


def part_name(moment: datetime, hex_token: str) -> str:
    return f"part-{file_stamp(moment)}-{hex_token}.parquet"


def types_match(actual: pa.DataType, expected: pa.DataType) -> bool:
    """Equal types, ignoring the name of a list's value field (writers disagree on `item`/`element`)."""
    if pa.types.is_list(expected):
        return pa.types.is_list(actual) and types_match(actual.value_type, expected.value_type)
    return actual.equals(expected)


def _string_like(kind: pa.DataType) -> bool:
    return (
        pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or (pa.types.is_dictionary(kind) and pa.types.is_string(kind.value_type))
    )


def _check_column(name: str, kind: pa.DataType, namespace: str, spec: NamespaceSpec, where: str) -> None:
    if name in CORE_COLUMNS:
        raise SchemaError(f"{where}: column {name} shadows the core column {name}")
    if not name.startswith(f"{namespace}__"):
        owner = f" (it belongs to namespace {name.split('__', 1)[0]!r})" if "__" in name else ""
        raise SchemaError(f"{where}: column {name} must be named {namespace}__<field>{owner}")
    registered = spec.arrow_types()
    if name not in registered:
        raise SchemaError(
            f"{where}: column {name} is not registered for namespace {namespace} "
            f"(registered: {', '.join(registered) or 'none'})"
        )
    expected = registered[name]
    if not (types_match(kind, expected) or (pa.types.is_string(expected) and _string_like(kind))):
        raise SchemaError(f"{where}: column {name} is {kind}, but the registry says {expected}")


def _check_cells(table: pa.Table, where: str) -> None:
    """Refuse cells too big to be overlay data (huge strings, huge lists), naming the column.

    A column whose buffers hold no more than the limit in all cannot hold one cell over it, so
    only a column that could is measured cell by cell (a part of a few KiB: no compute call).
    """
    for name in table.column_names:
        column = table.column(name)
        kind = column.type
        if pa.types.is_list(kind):
            if sum(len(chunk.values) for chunk in column.chunks) > MAX_LIST_ITEMS:
                longest = pc.max(pc.list_value_length(column)).as_py() or 0
                if longest > MAX_LIST_ITEMS:
                    raise ValidationError(
                        f"{where}: column {name} has a list of {longest} elements (limit {MAX_LIST_ITEMS})"
                    )
            if not pa.types.is_string(kind.value_type):
                continue
            column, kind = pc.list_flatten(column), kind.value_type
        if pa.types.is_string(kind) and column.nbytes > MAX_CELL_BYTES:
            biggest = pc.max(pc.binary_length(column)).as_py() or 0
            if biggest > MAX_CELL_BYTES:
                raise ValidationError(
                    f"{where}: column {name} has a {biggest}-byte value "
                    f"(limit {MAX_CELL_BYTES} bytes per cell)"
                )


def check_part(table: pa.Table, *, namespace: str, key: str, spec: NamespaceSpec, where: str) -> pa.Table:
    """The part normalised for writing (key first, registry order), or the first broken rule."""
    if key not in KEYS:
        raise UsageError(f"{where}: join key must be one of {', '.join(KEYS)}, not {key!r}")
    names = table.column_names
    repeated = sorted(name for name, seen in Counter(names).items() if seen > 1)
    if repeated:
        raise SchemaError(f"{where}: column(s) {', '.join(repeated)} appear more than once")
    if key not in names:
        raise SchemaError(f"{where}: the part has no key column {key!r} (join key {key})")
    values = [name for name in names if name != key]
    for name in values:
        _check_column(name, table.schema.field(name).type, namespace, spec, where)
    if not values:
        raise SchemaError(f"{where}: the part has no {namespace}__ columns, only its key {key}")
    if not _string_like(table.schema.field(key).type):
        raise SchemaError(f"{where}: key column {key} is {table.schema.field(key).type}, expected string")
    if table.num_rows == 0:
        raise ValidationError(f"{where}: the part has no rows; a part must add data")
    order = [name for name, _ in spec.columns if name in values]
    registered = spec.arrow_types()
    arrays = [table.column(key).cast(pa.string())]
    arrays += [table.column(name).cast(registered[name]) for name in order]
    part = pa.Table.from_arrays(arrays, names=[key, *order])
    _check_cells(part, where)
    return part


def check_keys(part: pa.Table, *, key: str, records: pa.Table, allow_missing: bool, where: str) -> None:
    """Keys non-null, unique within the part, and (unless allowed) all present in records."""
    keys = part.column(key)
    if keys.null_count:
        index = pc.index(pc.is_null(keys), True).as_py()
        raise ValidationError(f"{where}: key column {key} has a null at row {index}")
    repeated = duplicate_values(keys)
    if repeated:
        raise ValidationError(f"{where}: duplicate keys in key column {key}: {sample(repeated)}")
    if allow_missing:
        return
    known = pc.is_in(keys, value_set=records.column(key).combine_chunks())
    missing = keys.filter(pc.invert(known)).to_pylist()
    if missing:
        raise ValidationError(
            f"{where}: {len(missing)} {key} key(s) not in records: {sample(missing)} "
            "(pass --allow-missing to keep them)"
        )


def part_metadata(
    namespace: str, key: str, created_at: str, registry_hash: str, contract_hash: str
) -> dict[str, str]:
    return {
        META_NAMESPACE: namespace,
        META_KEY: key,
        META_CREATED_AT: created_at,
        META_REGISTRY_HASH: registry_hash,
        META_CONTRACT_HASH: contract_hash,
    }


def part_files(dataset_dir: Path) -> list[Path]:
    """Every well-named part file under `_derived/<namespace>/`, in path order."""
    base = Path(dataset_dir) / DERIVED_DIR
    if not base.is_dir():
        return []
    return sorted(
        path
        for folder in base.iterdir()
        if folder.is_dir() and not folder.name.startswith(".")
        for path in folder.iterdir()
        if DERIVED_PART_NAME.fullmatch(path.name) and file_kind(path) == "file"
    )


def part_info(path: Path, *, where: str, metadata: dict[str, str] | None = None) -> PartInfo:
    """A part's metadata (from its footer unless given); a SchemaError when unreadable or incomplete."""
    if metadata is None:
        try:
            metadata = read_kv_metadata(path)
        except VerifyError as error:
            raise SchemaError(f"{where}: {error.message}", paths=[str(path)]) from None
    missing = [name for name in PART_METADATA_KEYS if name not in metadata]
    if missing:
        raise SchemaError(
            f"{where}: {path.name} lacks parquet metadata {', '.join(missing)}", paths=[str(path)]
        )
    return PartInfo(path, metadata[META_NAMESPACE], metadata[META_KEY], metadata[META_CREATED_AT], metadata)


def _by_id(info: PartInfo, part: pa.Table, records: pa.Table) -> tuple[pa.Array, pa.Table]:
    """The part's rows as (record ids, rows): a sequence key reaches every record with that sequence."""
    if info.key == "id":
        return part.column("id").combine_chunks(), part
    hits = pc.index_in(records.column("sequence"), value_set=part.column("sequence").combine_chunks())
    rows = pc.indices_nonzero(pc.is_valid(hits))
    return records.column("id").take(rows).combine_chunks(), part.take(hits.take(rows))


def merge_overlays(records: pa.Table, parts: list[tuple[PartInfo, pa.Table]]) -> pa.Table:
    """Records with every overlay column appended (sorted by name), merged last-writer-wins."""
    newest_first = sorted(parts, key=lambda item: item[0].order, reverse=True)
    pieces: dict[str, list[tuple[pa.Array, pa.Array]]] = {}
    for info, part in newest_first:
        ids, rows = _by_id(info, part, records)
        for name in rows.column_names:
            if name not in KEYS:
                pieces.setdefault(name, []).append((ids, rows.column(name).combine_chunks()))
    record_ids = records.column("id").combine_chunks()
    merged = records
    for name in sorted(pieces):
        kind = pieces[name][0][1].type
        try:
            values = pa.concat_arrays([array.cast(kind) for _, array in pieces[name]])
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
            raise SchemaError(
                f"overlay column {name} has incompatible types across parts ({error})"
            ) from None
        ids = pa.concat_arrays([ids for ids, _ in pieces[name]])
        merged = merged.append_column(name, values.take(pc.index_in(record_ids, value_set=ids)))
    return merged
