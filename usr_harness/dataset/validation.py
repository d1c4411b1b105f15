"""`validate [--strict]`: find the first thing wrong with a dataset and raise it in its own family.

The quick pass reads footers and metadata only (records schema, part metadata,
registry). Strict decodes everything: page checksums of every parquet file, records
rules (ids recomputed, uniqueness, alphabets, lengths), every part against the
registry it claims to have been written under (registry hash, contract hash, column
types, keys), frozen registry copies, and the event log.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Protocol

import pyarrow as pa

from usr_harness.dataset.events import read_event_log, validate_event_log
from usr_harness.dataset.fsio import file_kind
from usr_harness.dataset.layout import (
    DERIVED_DIR,
    EVENTS_FILE,
    META_FILE,
    NAMESPACE_NAME,
    SNAPSHOTS_DIR,
    is_runtime,
)
from usr_harness.dataset.overlays import (
    KEYS,
    META_CONTRACT_HASH,
    META_CREATED_AT,
    META_KEY,
    META_NAMESPACE,
    META_REGISTRY_HASH,
    PartInfo,
    check_keys,
    check_part,
    part_files,
    part_info,
)
from usr_harness.dataset.parquet_io import (
    decode_parquet,
    read_footer,
    read_kv_metadata,
    table_kv_metadata,
    verify_parquet,
)
from usr_harness.dataset.pending import refuse_if_mid_promotion
from usr_harness.dataset.quoting import quote
from usr_harness.dataset.registry import (
    NamespaceSpec,
    Registry,
    frozen_registries,
    load_frozen,
    load_registry,
    namespace_contract_hash,
)
from usr_harness.dataset.schema import (
    META_DATASET_CREATED_AT,
    RECORDS_METADATA,
    check_core_columns,
    validate_records,
)
from usr_harness.dataset.snapshots import list_snapshots
from usr_harness.dataset.stamps import parse_rfc3339
from usr_harness.errors import DatasetError, SchemaError, ValidationError


class Dataset(Protocol):
    """What validation reads of a `dataset.Dataset`; a Protocol, so this module need not import it back."""

    id: str
    root: Path
    path: Path

    @property
    def records_path(self) -> Path: ...


def known_registries(dataset_dir: Path, current: Registry) -> dict[str, Registry]:
    """Every registry this dataset was written under: the frozen copies (each checked) and the current one."""
    known = {digest: load_frozen(path) for digest, path in frozen_registries(dataset_dir).items()}
    known[current.hash] = current
    return known


def _check_records_file(ds: Dataset, known: dict[str, Registry] | None) -> None:
    footer = read_footer(ds.records_path)
    check_core_columns(footer.schema.to_arrow_schema().empty_table(), dataset=ds.id, what="records.parquet")
    metadata = _check_schema_metadata(ds, ds.records_path)
    try:
        parse_rfc3339(metadata.get(META_DATASET_CREATED_AT, ""))
    except ValueError:
        raise SchemaError(
            f"{ds.id}: records.parquet metadata {META_DATASET_CREATED_AT} is missing or not RFC 3339",
            dataset=ds.id,
        ) from None
    digest = metadata.get(META_REGISTRY_HASH)
    if digest is None or (known is not None and digest not in known):
        raise SchemaError(
            f"{ds.id}: records.parquet metadata {META_REGISTRY_HASH} {digest!r} matches no registry this "
            "dataset was written under (current or frozen in _registry/)",
            dataset=ds.id,
        )


def _check_meta(ds: Dataset, strict: bool) -> None:
    path = ds.path / META_FILE
    kind = file_kind(path)
    if kind != "file":
        what = "missing" if kind == "missing" else f"a {kind}, not a regular file"
        raise DatasetError(f"{ds.id}: {META_FILE} is {what}", dataset=ds.id)
    if strict:
        first = path.read_bytes().split(b"\n", 1)[0].decode("utf-8", "replace")
        if first != f"name: {ds.id}":
            raise ValidationError(
                f"{ds.id}: {META_FILE} must start with 'name: {ds.id}', found {first!r}", dataset=ds.id
            )


def _stray_files(ds: Dataset, folder_name: str, wanted: set[Path]) -> None:
    """Anything but well-named files (and runtime files) in a sidecar folder is a SchemaError."""
    folder = ds.path / folder_name
    if not folder.is_dir():
        return
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(ds.path).as_posix()
        if file_kind(path) == "dir" or path in wanted or is_runtime(relative):
            continue
        raise SchemaError(
            f"{ds.id}: unexpected file {quote(relative)} (not a well-named part or snapshot)", dataset=ds.id
        )


def _part_header(ds: Dataset, path: Path, metadata: dict[str, str] | None = None) -> PartInfo:
    relative = path.relative_to(ds.path).as_posix()
    where = f"{ds.id}: {quote(relative)}"
    info = part_info(path, where=where, metadata=metadata)
    folder = path.parent.name
    if info.namespace != folder:
        raise SchemaError(
            f"{where}: metadata {META_NAMESPACE} says {info.namespace!r}, but the part is under "
            f"{DERIVED_DIR}/{folder}",
            dataset=ds.id,
        )
    if info.key not in KEYS:
        raise SchemaError(
            f"{where}: metadata {META_KEY} is {info.key!r}, not one of {', '.join(KEYS)}", dataset=ds.id
        )
    try:
        parse_rfc3339(info.created_at)
    except ValueError:
        raise SchemaError(
            f"{where}: metadata {META_CREATED_AT} {info.created_at!r} is not RFC 3339", dataset=ds.id
        ) from None
    return info


def _part_contract(
    where: str, dataset_id: str, info: PartInfo, known: dict[str, Registry], rows: int
) -> NamespaceSpec:
    """The contract a part claims (registry hash + contract hash) must be one this dataset knows."""
    if rows == 0:
        raise SchemaError(f"{where}: the part has no rows", dataset=dataset_id)
    digest = info.metadata[META_REGISTRY_HASH]
    registry = known.get(digest)
    if registry is None:
        raise SchemaError(
            f"{where}: metadata {META_REGISTRY_HASH} {digest} matches no registry this dataset was written "
            "under (current or frozen in _registry/)",
            dataset=dataset_id,
        )
    spec = registry.namespaces.get(info.namespace)
    if spec is None:
        raise SchemaError(
            f"{where}: namespace {info.namespace} is not in the registry its {META_REGISTRY_HASH} names",
            dataset=dataset_id,
        )
    if info.metadata[META_CONTRACT_HASH] != namespace_contract_hash(info.namespace, spec.columns):
        raise SchemaError(
            f"{where}: metadata {META_CONTRACT_HASH} does not match the {info.namespace} contract in the "
            "registry it was written under",
            dataset=dataset_id,
        )
    return spec


def _check_part_strictly(ds: Dataset, info: PartInfo, known: dict[str, Registry], records: pa.Table) -> None:
    where = f"{ds.id}: {quote(info.path.relative_to(ds.path).as_posix())}"
    spec = _part_contract(where, ds.id, info, known, read_footer(info.path).num_rows)
    decoded = decode_parquet(info.path)
    part = check_part(decoded, namespace=info.namespace, key=info.key, spec=spec, where=where)
    check_keys(part, key=info.key, records=records, allow_missing=True, where=where)


def incoming_registries(dataset_dir: Path, stage_dir: Path) -> dict[str, Registry]:
    """Every registry either copy of a dataset froze: what incoming parts may claim (load once a pull)."""
    known: dict[str, Registry] = {}
    for folder in (dataset_dir, stage_dir):
        known.update({digest: load_frozen(p) for digest, p in frozen_registries(folder).items()})
    return known


def check_incoming_part(
    stage_dir: Path, relpath: str, *, dataset_id: str, known: dict[str, Registry]
) -> None:
    """A part arriving by pull, decoded with page checksums and checked against the registries it claims."""
    path = Path(stage_dir) / relpath
    part = decode_parquet(path)
    staged = SimpleNamespace(path=Path(stage_dir), id=dataset_id)
    info = _part_header(staged, path, table_kv_metadata(part))
    spec = _part_contract(f"{dataset_id}: remote {relpath}", dataset_id, info, known, part.num_rows)
    check_part(part, namespace=info.namespace, key=info.key, spec=spec, where=relpath)


def _check_derived_folders(ds: Dataset) -> None:
    base = ds.path / DERIVED_DIR
    if not base.is_dir():
        return
    for folder in sorted(base.iterdir()):
        if folder.is_dir() and not NAMESPACE_NAME.fullmatch(folder.name):
            raise SchemaError(
                f"{ds.id}: {DERIVED_DIR}/{folder.name} is not a valid namespace folder", dataset=ds.id
            )


def _check_schema_metadata(ds: Dataset, path: Path) -> dict[str, str]:
    """The records schema metadata every records file and snapshot carries; returns all of it."""
    metadata = read_kv_metadata(path)
    for name, expected in RECORDS_METADATA.items():
        if metadata.get(name) != expected:
            raise SchemaError(
                f"{ds.id}: {path.name} metadata {name} is {metadata.get(name)!r}, expected {expected!r}",
                dataset=ds.id,
            )
    return metadata


def validate_dataset(ds: Dataset, *, strict: bool = False) -> None:
    """Raise the first problem found; return quietly when the dataset keeps every rule checked."""
    refuse_if_mid_promotion(ds.path, ds.id)
    kind = file_kind(ds.records_path)
    if kind == "missing":
        raise DatasetError(f"{ds.id}: no dataset at {quote(ds.path)} (no records.parquet)", dataset=ds.id)
    if kind != "file":
        raise DatasetError(f"{ds.id}: records.parquet is a {kind}, not a regular file", dataset=ds.id)
    registry = load_registry(ds.root)
    known = known_registries(ds.path, registry) if strict else None
    _check_records_file(ds, known)
    _check_meta(ds, strict)
    headers = [_part_header(ds, path) for path in part_files(ds.path)]
    if not strict:
        return
    records = decode_parquet(ds.records_path)
    validate_records(records, dataset=ds.id)
    _check_derived_folders(ds)
    _stray_files(ds, DERIVED_DIR, {info.path for info in headers})
    for info in headers:
        _check_part_strictly(ds, info, known, records)
    snapshots = list_snapshots(ds.path)
    _stray_files(ds, SNAPSHOTS_DIR, set(snapshots))
    for path in snapshots:
        verify_parquet(path)
        check_core_columns(
            read_footer(path).schema.to_arrow_schema().empty_table(), dataset=ds.id, what=path.name
        )
        _check_schema_metadata(ds, path)
    validate_event_log(read_event_log(ds.path), source=f"{ds.id}/{EVENTS_FILE}")
