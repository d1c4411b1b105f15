"""The standard benchmark datasets (small, medium, bulk), built with the mock generator and cached.

Every byte follows from the spec and its seed (seeded write contexts, seeded mock batches),
so a cached build is reused whenever the parameters match, and a rerun costs no build time.
A build happens in a temp folder that is renamed into the cache only once it is complete.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from usr_harness.dataset import Dataset
from usr_harness.dataset.context import seeded_context
from usr_harness.dataset.events import append_event
from usr_harness.dataset.fsio import publish, temp_sibling
from usr_harness.dataset.layout import DERIVED_DIR
from usr_harness.dataset.overlays import check_part, part_metadata, part_name
from usr_harness.dataset.parquet_io import WRITE_OPTIONS, read_kv_metadata
from usr_harness.dataset.registry import load_registry, namespace_contract_hash, register_namespace
from usr_harness.dataset.schema import CORE_SCHEMA
from usr_harness.dataset.stamps import rfc3339
from usr_harness.mock.overlays import overlay_batch, overlay_spec
from usr_harness.mock.records import mock_records, seed_origin
from usr_harness.mock.seeding import derive_rng, derive_seed
from usr_harness.mock.series import ARTIFACTS_DIR

BUILD_VERSION = 1
"""Bump when the construction below changes, so old cache entries stop matching."""

EXTRA_NAMESPACES = {"densegen_v2": "densegen", "infer_v2": "infer"}
"""Two more producers shaped like the mock ones, so the medium set spans four namespaces."""

LATE_FIELDS = ("blob_bytes", "bulk_parts")
"""Spec fields added after sets were first cached: at 0 they stay out of the key, so old caches match."""
BULK_PART_ROWS = 50

BUILT_MARKER = "built.json"
"""Written last: a cache folder without it is an interrupted build."""
NAMESPACES = ("densegen", "infer", *EXTRA_NAMESPACES)
PART_ROWS = 300
ARTIFACT_LINES = 400
BULK_BATCH_ROWS = 16_384
BULK_LENGTHS = (1_000, 3_000)
"""Long protein rows: few ids to hash per byte, and zstd keeps ~55% of them, so a GiB builds fast."""


@dataclass(frozen=True)
class DatasetSpec:
    """What to build; `primary_bytes` > 0 streams one primary of about that size instead of importing."""

    name: str
    rows: int = 0
    parts: int = 0
    artifacts: int = 0
    snapshots: int = 0
    primary_bytes: int = 0
    seed: int = 9
    blob_bytes: int = 0
    """Seeded bytes in one `_artifacts/` file: what the growth section adds to see cost follow bytes."""
    bulk_parts: int = 0
    """More parts after `parts`, written by `_add_bulk_parts`: how the growth section reaches 20,000."""

    def key(self) -> str:
        """Cache key: the spec, the build version and the parquet writer (its bytes depend on it).

        A field left at its default of 0 added after a set was first cached stays out of the key.
        """
        fields = {name: value for name, value in asdict(self).items() if name not in LATE_FIELDS or value}
        body = {**fields, "build": BUILD_VERSION, "pyarrow": pa.__version__}
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:12]


SMALL = DatasetSpec("small", rows=3_000, parts=4)
MEDIUM = DatasetSpec("medium", rows=200_000, parts=200, artifacts=50, snapshots=3)


def bulk_spec(primary_bytes: int) -> DatasetSpec:
    return DatasetSpec("bulk", primary_bytes=primary_bytes)


@dataclass(frozen=True)
class BuiltDataset:
    """A built dataset in the cache: `root` holds registry.yaml and the dataset folder `root/name`."""

    spec: DatasetSpec
    root: Path
    files: int
    size_bytes: int
    primary_bytes: int

    @property
    def path(self) -> Path:
        return self.root / self.spec.name

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.spec.name,
            "key": self.spec.key(),
            "spec": asdict(self.spec),
            "files": self.files,
            "size_bytes": self.size_bytes,
            "primary_bytes": self.primary_bytes,
        }


def ensure_built(spec: DatasetSpec, cache_dir: Path) -> BuiltDataset:
    """The cached build of `spec`, building it first when the cache has none."""
    final = cache_dir / f"{spec.name}-{spec.key()}"
    if not _complete(final):
        building = cache_dir / f".building-{spec.name}-{spec.key()}-{os.getpid()}"
        shutil.rmtree(building, ignore_errors=True)
        building.mkdir(parents=True)
        try:
            _build(spec, building)
        except BaseException:
            shutil.rmtree(building, ignore_errors=True)
            raise
        if _complete(final):  # a concurrent run finished the same build first
            shutil.rmtree(building, ignore_errors=True)
        else:
            shutil.rmtree(final, ignore_errors=True)
            os.rename(building, final)
    return _describe(spec, final)


def _complete(root: Path) -> bool:
    return (root / BUILT_MARKER).is_file()


def _describe(spec: DatasetSpec, root: Path) -> BuiltDataset:
    sizes = [path.stat().st_size for path in (root / spec.name).rglob("*") if path.is_file()]
    primary = (root / spec.name / "records.parquet").stat().st_size
    return BuiltDataset(spec, root, len(sizes), sum(sizes), primary)


def _build(spec: DatasetSpec, root: Path) -> None:
    ctx = seeded_context(spec.seed)
    register_namespaces(root)
    dataset = Dataset.init(root, spec.name, source="usr-bench", notes="benchmark dataset", ctx=ctx)
    if spec.primary_bytes:
        _stream_primary(dataset, spec)
    else:
        _grow(dataset, spec)
    _add_bulk_parts(dataset, spec)
    _write_artifacts(dataset.path, spec)
    _write_blob(dataset.path, spec)
    (root / BUILT_MARKER).write_text(json.dumps(asdict(spec), sort_keys=True) + "\n", encoding="utf-8")


def register_namespaces(root: Path) -> None:
    """Register the mock namespaces and the extra ones (same column types, their own names)."""
    for namespace in NAMESPACES:
        base = overlay_spec(EXTRA_NAMESPACES.get(namespace, namespace))
        columns = [(_rename(name, base.namespace, namespace), kind) for name, kind in base.columns]
        register_namespace(root, namespace, columns, owner=base.owner, description=base.description)


def overlay_part(seed: int, namespace: str, ids: pa.Array) -> pa.Table:
    """A mock part for any of NAMESPACES (the extra ones reuse their model's generator)."""
    base = EXTRA_NAMESPACES.get(namespace, namespace)
    table = overlay_batch(seed, base, ids)
    return table.rename_columns([_rename(name, base, namespace) for name in table.column_names])


def _rename(column: str, base: str, namespace: str) -> str:
    return namespace + column[len(base) :] if column.startswith(base + "__") else column


def _grow(dataset: Dataset, spec: DatasetSpec) -> None:
    """Import in stages, attaching parts over each stage's ids and snapshotting between stages."""
    stages = spec.snapshots + 1
    part_index = 0
    for stage in range(stages):
        rows = spec.rows // stages + (spec.rows % stages if stage == stages - 1 else 0)
        stage_seed = derive_seed(spec.seed, "stage", stage)
        records = mock_records(stage_seed, rows, start=seed_origin(spec.seed) + timedelta(hours=stage))
        dataset.import_rows(records, source="usr-bench")
        ids = records.column("id").combine_chunks()
        rng = derive_rng(spec.seed, "keys", stage)
        quota = spec.parts // stages + (spec.parts % stages if stage == stages - 1 else 0)
        for _ in range(quota):
            picks = np.sort(rng.choice(len(ids), size=min(PART_ROWS, len(ids)), replace=False))
            namespace = NAMESPACES[part_index % len(NAMESPACES)]
            part = overlay_part(derive_seed(spec.seed, "part", part_index), namespace, ids.take(picks))
            dataset.attach(part, namespace=namespace)
            part_index += 1
        if stage < spec.snapshots:
            dataset.snapshot()


def _add_bulk_parts(dataset: Dataset, spec: DatasetSpec) -> None:
    """`bulk_parts` more parts in the dataset layer's own format (name, kv metadata, checks, writer).

    `Dataset.attach` reloads the YAML registry, re-reads the records and appends an event for
    every part (0.1-0.2 s each on two shared cores: an hour for 20,000); here the registry and
    the ids are loaded once, each part is checked as attach checks it, and no event is logged.
    """
    if not spec.bulk_parts:
        return
    registry = load_registry(dataset.root)
    ids = dataset.read_records().column("id").combine_chunks()
    rng = derive_rng(spec.seed, "bulk-keys")
    for index in range(spec.bulk_parts):
        namespace = NAMESPACES[index % len(NAMESPACES)]
        picks = np.sort(rng.choice(len(ids), size=min(BULK_PART_ROWS, len(ids)), replace=False))
        table = overlay_part(derive_seed(spec.seed, "bulk-part", index), namespace, ids.take(picks))
        contract = registry.require(namespace)
        part = check_part(table, namespace=namespace, key="id", spec=contract, where="bench bulk part")
        now = dataset.ctx.clock()
        folder = dataset.path / DERIVED_DIR / namespace
        folder.mkdir(parents=True, exist_ok=True)
        metadata = part_metadata(
            namespace, "id", rfc3339(now), registry.hash, namespace_contract_hash(namespace, contract.columns)
        )
        merged = {**(part.schema.metadata or {}), **{k.encode(): v.encode() for k, v in metadata.items()}}
        pq.write_table(
            part.replace_schema_metadata(merged),
            folder / part_name(now, dataset.ctx.random_hex()),
            **WRITE_OPTIONS,
        )


def _stream_primary(dataset: Dataset, spec: DatasetSpec) -> None:
    """Write a primary of about `primary_bytes` batch by batch, never holding it whole in memory."""
    target = dataset.records_path
    schema = CORE_SCHEMA.with_metadata(read_kv_metadata(target))
    temp = temp_sibling(target)
    rows = 0
    options = {key: value for key, value in WRITE_OPTIONS.items() if key != "row_group_size"}
    with pq.ParquetWriter(temp, schema, **options) as writer:
        while temp.stat().st_size < spec.primary_bytes:
            start = seed_origin(spec.seed) + timedelta(microseconds=rows)
            batch = mock_records(
                derive_seed(spec.seed, "bulk", rows),
                BULK_BATCH_ROWS,
                bio_type="protein",
                length_range=BULK_LENGTHS,
                source="usr-bench",
                start=start,
            )
            writer.write_table(batch.cast(schema))
            rows += batch.num_rows
    publish(temp, target)
    append_event(
        dataset.path,
        "import",
        dataset_id=dataset.id,
        root=dataset.root,
        ctx=dataset.ctx,
        args={"input": "<bench stream>", "format": None, "source": "usr-bench"},
        metrics={"rows_added": rows, "rows_total": rows},
    )


BLOB_NAME = "blob.bin"
BLOB_CHUNK = 64 << 20


def _write_blob(dataset_dir: Path, spec: DatasetSpec) -> None:
    """`blob_bytes` of seeded random bytes (incompressible, like a real model checkpoint), streamed."""
    if not spec.blob_bytes:
        return
    folder = dataset_dir / ARTIFACTS_DIR
    folder.mkdir(exist_ok=True)
    rng = derive_rng(spec.seed, "blob")
    with (folder / BLOB_NAME).open("wb") as handle:
        left = spec.blob_bytes
        while left:
            size = min(BLOB_CHUNK, left)
            handle.write(rng.bytes(size))
            left -= size


def _write_artifacts(dataset_dir: Path, spec: DatasetSpec) -> None:
    """Per-run metric tables, the auxiliary files a real run leaves beside its data."""
    if not spec.artifacts:
        return
    folder = dataset_dir / ARTIFACTS_DIR
    folder.mkdir(exist_ok=True)
    for index in range(spec.artifacts):
        values = derive_rng(spec.seed, "artifact", index).normal(size=(ARTIFACT_LINES, 2))
        lines = ["step,loss,score", *(f"{i},{a:.6f},{b:.6f}" for i, (a, b) in enumerate(values))]
        (folder / f"metrics-{index:03d}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
