"""validate / validate --strict: a valid dataset passes; each kind of damage draws its own family."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from tests.dataset.helpers import densegen_part
from usr_harness.dataset import Dataset
from usr_harness.dataset.fsio import file_kind
from usr_harness.dataset.layout import EVENTS_FILE
from usr_harness.dataset.parquet_io import read_kv_metadata, write_parquet
from usr_harness.dataset.registry import register_namespace
from usr_harness.errors import (
    DatasetError,
    EventsError,
    RegistryError,
    SchemaError,
    ValidationError,
    VerifyError,
)


@pytest.fixture
def full(dataset: Dataset, ids: list[str]) -> Dataset:
    """demo with a densegen part, an infer part and a snapshot."""
    dataset.attach(densegen_part(ids[:8]), namespace="densegen")
    dataset.attach(pa.table({"id": ids[4:9], "infer__llr": [0.5] * 5}), namespace="infer")
    dataset.snapshot()
    return dataset


def _part(dataset: Dataset, namespace: str = "densegen") -> Path:
    return sorted((dataset.path / "_derived" / namespace).glob("part-*.parquet"))[-1]


def _plant(
    dataset: Dataset, data: bytes, name: str = "part-20260101T000000000000-deadbeefdeadbeef.parquet"
) -> None:
    (dataset.path / "_derived" / "densegen" / name).write_bytes(data)


def _retag(key: str, value: str, rows: slice | None = None) -> Callable[[Dataset], None]:
    def edit(dataset: Dataset) -> None:
        source = _part(dataset)
        metadata = read_kv_metadata(source)
        metadata[key] = value
        table = pq.read_table(source)
        table = table.slice(rows.start, rows.stop) if rows else table
        sink = pa.BufferOutputStream()
        pq.write_table(table.replace_schema_metadata(metadata), sink)
        _plant(dataset, sink.getvalue().to_pybytes())

    return edit


def _flip(pattern: str) -> Callable[[Dataset], None]:
    """Flip one byte inside the last page of the first column chunk: page data, covered by its checksum."""

    def edit(dataset: Dataset) -> None:
        path = sorted(dataset.path.glob(pattern))[0]
        chunk = pq.read_metadata(path).row_group(0).column(0)
        start = chunk.dictionary_page_offset or chunk.data_page_offset
        data = bytearray(path.read_bytes())
        data[start + chunk.total_compressed_size - 2] ^= 0xFF
        path.write_bytes(bytes(data))

    return edit


def _rewrite_records(edit_table: Callable[[pa.Table], pa.Table]) -> Callable[[Dataset], None]:
    def edit(dataset: Dataset) -> None:
        metadata = read_kv_metadata(dataset.records_path)
        write_parquet(edit_table(dataset.read_records()), dataset.records_path, metadata=metadata)

    return edit


def _records_metadata(key: str, value: str) -> Callable[[Dataset], None]:
    def edit(dataset: Dataset) -> None:
        write_parquet(dataset.read_records(), dataset.records_path, metadata={key: value})

    return edit


def _snapshot_metadata(key: str, value: str) -> Callable[[Dataset], None]:
    """A snapshot rewritten with one schema metadata key changed (its rows kept)."""

    def edit(dataset: Dataset) -> None:
        snapshot = next((dataset.path / "_snapshots").glob("records-*.parquet"))
        write_parquet(pq.read_table(snapshot), snapshot, metadata={key: value})

    return edit


def _set(table: pa.Table, name: str, values: list) -> pa.Table:
    field = table.schema.field(name)
    return table.set_column(table.column_names.index(name), field, pa.array(values, field.type))


def _edit_registry(edit: Callable[[dict], None]) -> Callable[[Dataset], None]:
    def apply(dataset: Dataset) -> None:
        path = dataset.root / "registry.yaml"
        mapping = yaml.safe_load(path.read_text())
        edit(mapping)
        path.write_text(yaml.safe_dump(mapping))

    return apply


def _write(relative: str, data: bytes) -> Callable[[Dataset], None]:
    return lambda dataset: (dataset.path / relative).write_bytes(data)


DAMAGE = [
    # (damage, strict only, family, token)
    (_retag("usr:overlay_namespace", "infer"), False, SchemaError, "usr:overlay_namespace"),
    (_retag("usr:overlay_key", "name"), False, SchemaError, "usr:overlay_key"),
    (_retag("usr:overlay_created_at", "yesterday"), False, SchemaError, "usr:overlay_created_at"),
    (lambda ds: _plant(ds, b"id,densegen__score\nabc,1.0\n"), False, SchemaError, "parquet"),
    (_records_metadata("usr:schema_version", "2"), False, SchemaError, "usr:schema_version"),
    (_records_metadata("usr:dataset_created_at", "soon"), False, SchemaError, "usr:dataset_created_at"),
    (lambda ds: (ds.path / "meta.md").unlink(), False, DatasetError, "meta.md"),
    (_edit_registry(lambda m: m["namespaces"].pop("usr_state")), False, RegistryError, "usr_state"),
    (_retag("usr:registry_hash", "0" * 64), True, SchemaError, "usr:registry_hash"),
    (_retag("usr:namespace_contract_hash", "f" * 64), True, SchemaError, "usr:namespace_contract_hash"),
    (_retag("usr:overlay_namespace", "densegen", slice(0, 0)), True, SchemaError, "no rows"),
    (_records_metadata("usr:registry_hash", "1" * 64), True, SchemaError, "usr:registry_hash"),
    (_flip("records.parquet"), True, VerifyError, "records.parquet"),
    (_flip("_derived/densegen/part-*.parquet"), True, VerifyError, "part-"),
    (_flip("_snapshots/records-*.parquet"), True, VerifyError, "_snapshots"),
    (_snapshot_metadata("usr:schema_version", "9"), True, SchemaError, "metadata usr:schema_version is '9'"),
    (
        _rewrite_records(lambda t: _set(t, "id", ["0" * 40, *t.column("id").to_pylist()[1:]])),
        True,
        ValidationError,
        "id at row 0",
    ),
    (
        _rewrite_records(lambda t: pa.concat_tables([t, t.slice(0, 1)])),
        True,
        ValidationError,
        "duplicate ids",
    ),
    (_rewrite_records(lambda t: _set(t, "length", [1] * t.num_rows)), True, ValidationError, "length"),
    (
        _rewrite_records(lambda t: _set(t, "sequence", ["ACGU"] * t.num_rows)),
        True,
        ValidationError,
        "alphabet dna_4",
    ),
    (_write("meta.md", b"name: other\n"), True, ValidationError, "meta.md"),
    (_write(EVENTS_FILE, b'{"a":1}\n{"b":'), True, EventsError, "line 2"),
    (_write("_derived/densegen/notes.txt", b"hi"), True, SchemaError, "notes.txt"),
    (_write("_snapshots/records-latest.parquet", b""), True, SchemaError, "records-latest"),
    (lambda ds: (ds.path / "_derived" / "Bad").mkdir(), True, SchemaError, "_derived/Bad"),
    (
        _write("_registry/registry." + "a" * 64 + ".yaml", b"namespaces: {}\n"),
        True,
        RegistryError,
        "usr_state",
    ),
]


@pytest.mark.parametrize(("damage", "strict_only", "family", "token"), DAMAGE)
def test_damage_is_found_by_its_family(
    full: Dataset, damage, strict_only: bool, family: type, token: str
) -> None:
    full.validate(strict=True)
    damage(full)
    if strict_only:
        full.validate(strict=False)
    else:
        with pytest.raises(family) as quick:
            full.validate(strict=False)
        assert token in quick.value.message
    with pytest.raises(family) as caught:
        full.validate(strict=True)
    where = ("demo", str(full.root), f"'{full.root}")  # a quoted path starts with its quote
    assert token in caught.value.message and caught.value.message.startswith(where)


def test_a_part_written_under_an_older_registry_still_validates(full: Dataset, ids: list[str]) -> None:
    register_namespace(full.root, "later", [("later__x", "int64")])
    full.attach(pa.table({"id": ids[:2], "later__x": [1, 2]}), namespace="later")
    assert len(list((full.path / "_registry").glob("registry.*.yaml"))) == 2
    full.validate(strict=True)


def test_frozen_registries_travel_with_the_dataset(full: Dataset, tmp_path: Path) -> None:
    """Copied under a root whose registry never knew densegen, the parts still check against their own."""
    register_namespace(tmp_path / "elsewhere", "extra", [("extra__x", "int64")])
    shutil.copytree(full.path, tmp_path / "elsewhere" / "demo")
    copy = Dataset.open(tmp_path / "elsewhere", "demo")
    copy.validate(strict=True)
    shutil.rmtree(copy.path / "_registry")
    with pytest.raises(SchemaError, match="usr:registry_hash"):
        copy.validate(strict=True)


def test_missing_dataset(root: Path) -> None:
    with pytest.raises(DatasetError):
        Dataset(root, "ghost").validate()


SPECIAL_FILES = [
    ("records.parquet", "symlink", DatasetError, "is a symlink"),
    ("records.parquet", "fifo", DatasetError, "is a fifo"),
    ("meta.md", "symlink", DatasetError, "is a symlink"),
    (".events.log", "fifo", EventsError, "is a fifo"),
    (".events.log", "symlink", EventsError, "is a symlink"),
]


@pytest.mark.timeout(20)
@pytest.mark.parametrize(("name", "kind", "family", "token"), SPECIAL_FILES)
def test_validate_never_follows_or_opens_special_files(
    dataset: Dataset, name: str, kind: str, family: type, token: str
) -> None:
    target = dataset.path / name
    original = target.read_bytes() if target.exists() else b""
    target.unlink(missing_ok=True)
    if kind == "fifo":
        os.mkfifo(target)
    else:
        outside = dataset.path.parent / f"outside-{name}"
        outside.write_bytes(original)
        target.symlink_to(outside)
    before = tree_state(dataset.path)
    with pytest.raises(family, match=token):
        dataset.validate(strict=True)
    assert tree_state(dataset.path) == before


@pytest.mark.timeout(20)
def test_a_symlinked_part_is_a_stray_file(dataset: Dataset, ids: list[str]) -> None:
    part = dataset.attach(pa.table({"id": ids, "densegen__score": [1.0] * len(ids)}), namespace="densegen")
    twin = part.with_name(part.name.replace(part.name[-12:-8], "beef"))
    twin.symlink_to(part)
    with pytest.raises(SchemaError, match="unexpected file"):
        dataset.validate(strict=True)


@pytest.mark.timeout(20)
def test_a_fifo_registry_is_a_registry_error(dataset: Dataset) -> None:
    registry = dataset.root / "registry.yaml"
    registry.unlink()
    os.mkfifo(registry)
    with pytest.raises(RegistryError, match="is a fifo"):
        dataset.validate(strict=True)


def tree_state(folder: Path) -> dict[str, object]:
    """Each entry without following links or opening fifos: bytes for files, the target for links."""
    state: dict[str, object] = {}
    for path in sorted(folder.rglob("*")):
        kind = file_kind(path)
        if kind == "file":
            state[str(path.relative_to(folder))] = path.read_bytes()
        elif kind != "dir":
            state[str(path.relative_to(folder))] = (kind, os.readlink(path) if kind == "symlink" else None)
    return state
