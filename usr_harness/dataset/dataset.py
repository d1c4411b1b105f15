"""A USR dataset folder and the operations on it: init, import, attach, snapshot, read, validate.

Every mutation takes `.usr.lock`, loads the registry, validates everything before it
writes, freezes the registry it writes under, writes with temp + fsync + rename, and
logs one event; if anything fails on the way, the folder is put back byte for byte.
Clock, actor and randomness come from the WriteContext, so a seeded context writes
byte-identical files.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from usr_harness.dataset import events as event_log
from usr_harness.dataset.context import WriteContext
from usr_harness.dataset.fsio import atomic_write_bytes, fsync_dir, publish, temp_sibling
from usr_harness.dataset.importing import INPUT_TYPES, prepare_rows
from usr_harness.dataset.journal import journal_pending
from usr_harness.dataset.layout import (
    DERIVED_DIR,
    META_FILE,
    RECORDS_FILE,
    REGISTRY_DIR,
    SNAPSHOTS_DIR,
    TEMP_PREFIX,
    check_dataset_id,
)
from usr_harness.dataset.locks import DEFAULT_TIMEOUT, dataset_lock
from usr_harness.dataset.overlays import (
    check_keys,
    check_part,
    merge_overlays,
    part_files,
    part_info,
    part_metadata,
    part_name,
)
from usr_harness.dataset.parquet_io import read_footer, read_kv_metadata, read_parquet, write_parquet
from usr_harness.dataset.pending import complete_pending_promotion
from usr_harness.dataset.registry import (
    Registry,
    check_namespace_name,
    ensure_registry,
    freeze_registry,
    namespace_contract_hash,
)
from usr_harness.dataset.schema import (
    CORE_SCHEMA,
    ID_HASH,
    META_DATASET_CREATED_AT,
    META_ID_HASH,
    META_REGISTRY_HASH,
    META_SCHEMA_VERSION,
    SCHEMA_VERSION,
    sample,
)
from usr_harness.dataset.snapshots import list_snapshots, snapshot_name, surplus_snapshots
from usr_harness.dataset.stamps import rfc3339
from usr_harness.dataset.tabular import load_input, select_input
from usr_harness.dataset.undo import Undo
from usr_harness.dataset.validation import validate_dataset
from usr_harness.errors import DatasetError, NamespaceError, ValidationError


def _checked_id(dataset_id: str) -> str:
    try:
        return check_dataset_id(dataset_id)
    except ValueError as error:
        raise DatasetError(str(error), dataset=str(dataset_id)) from None


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _input_label(data: pa.Table | Path | str) -> str:
    return "<table>" if isinstance(data, pa.Table) else str(data)


class Dataset:
    """One dataset folder `<root>/<id>/`; mutations use `ctx` for every clock reading, actor and hex."""

    def __init__(
        self,
        root: Path | str,
        dataset_id: str,
        *,
        ctx: WriteContext | None = None,
        lock_timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.root = Path(root)
        self.id = _checked_id(dataset_id)
        self.path = self.root / self.id
        self.ctx = ctx or WriteContext()
        self.lock_timeout = lock_timeout

    def __repr__(self) -> str:
        return f"Dataset({str(self.root)!r}, {self.id!r})"

    @property
    def records_path(self) -> Path:
        return self.path / RECORDS_FILE

    # --- creating and opening

    @classmethod
    def init(
        cls,
        root: Path | str,
        dataset_id: str,
        *,
        source: str = "",
        notes: str = "",
        ctx: WriteContext | None = None,
        lock_timeout: float = DEFAULT_TIMEOUT,
    ) -> Dataset:
        """Create the dataset: built in a temp folder beside it, then renamed into place in one step."""
        dataset = cls(root, dataset_id, ctx=ctx, lock_timeout=lock_timeout)
        if dataset.path.exists():
            raise DatasetError(f"{dataset.id}: already exists at {dataset.path}", dataset=dataset.id)
        registry = ensure_registry(dataset.root)
        parent = dataset.path.parent
        made_parent = not parent.exists()
        parent.mkdir(parents=True, exist_ok=True)
        building = parent / f"{TEMP_PREFIX}init-{dataset.path.name}-{os.getpid()}-{id(dataset):x}"
        try:
            building.mkdir()
            dataset._build(building, registry, source=source, notes=notes)
            if dataset.path.exists():
                raise DatasetError(f"{dataset.id}: already exists at {dataset.path}", dataset=dataset.id)
            os.rename(building, dataset.path)
            fsync_dir(parent)
        except BaseException:
            shutil.rmtree(building, ignore_errors=True)
            if made_parent:
                shutil.rmtree(parent, ignore_errors=True)
            raise
        return dataset

    def _build(self, folder: Path, registry: Registry, *, source: str, notes: str) -> None:
        created = rfc3339(self.ctx.clock())
        metadata = {
            META_SCHEMA_VERSION: SCHEMA_VERSION,
            META_ID_HASH: ID_HASH,
            META_DATASET_CREATED_AT: created,
            META_REGISTRY_HASH: registry.hash,
        }
        write_parquet(CORE_SCHEMA.empty_table(), folder / RECORDS_FILE, metadata=metadata)
        meta = f"name: {self.id}\ncreated_at: {created}\nsource: {_one_line(source)}\n"
        if notes.strip():
            meta += f"\n{notes.strip()}\n"
        atomic_write_bytes(folder / META_FILE, meta.encode("utf-8"))
        (folder / REGISTRY_DIR).mkdir()
        freeze_registry(registry, folder)
        event_log.append_event(
            folder,
            "init",
            dataset_id=self.id,
            root=self.root,
            ctx=self.ctx,
            args={"source": source, "notes": notes},
            registry_hash=registry.hash,
            timeout=self.lock_timeout,
        )

    @classmethod
    def open(
        cls,
        root: Path | str,
        dataset_id: str,
        *,
        ctx: WriteContext | None = None,
        lock_timeout: float = DEFAULT_TIMEOUT,
    ) -> Dataset:
        dataset = cls(root, dataset_id, ctx=ctx, lock_timeout=lock_timeout)
        if not dataset.records_path.is_file():
            raise DatasetError(
                f"{dataset.id}: no dataset at {dataset.path} (no {RECORDS_FILE})", dataset=dataset.id
            )
        return dataset

    # --- reading

    def read_records(self) -> pa.Table:
        """The core records, page checksums verified."""
        return read_parquet(self.records_path)

    def records_metadata(self) -> dict[str, str]:
        return read_kv_metadata(self.records_path)

    def read(self, *, overlays: bool = True) -> pa.Table:
        """Records with every overlay column merged last-writer-wins (or the bare records)."""
        records = self.read_records()
        if not overlays:
            return records
        infos = [part_info(path, where=self.id) for path in part_files(self.path)]
        return merge_overlays(records, [(info, read_parquet(info.path)) for info in infos])

    def info(self) -> dict:
        """What `usr info` shows: size, shape, provenance and the sidecars present."""
        footer = read_footer(self.records_path)
        metadata = read_kv_metadata(self.records_path)
        parts: dict[str, int] = {}
        for path in part_files(self.path):
            parts[path.parent.name] = parts.get(path.parent.name, 0) + 1
        log = event_log.read_event_log(self.path)
        return {
            "dataset": self.id,
            "path": str(self.path),
            "rows": footer.num_rows,
            "columns": footer.schema.to_arrow_schema().names,
            "size_bytes": self.records_path.stat().st_size,
            "schema_version": metadata.get(META_SCHEMA_VERSION),
            "created_at": metadata.get(META_DATASET_CREATED_AT),
            "registry_hash": metadata.get(META_REGISTRY_HASH),
            "parts": dict(sorted(parts.items())),
            "snapshots": len(list_snapshots(self.path)),
            "events": log.count(b"\n"),
        }

    def events_tail(self, n: int = 10) -> list[dict]:
        return event_log.tail_events(self.path, n)

    def validate(self, *, strict: bool = False) -> None:
        """Raise the first problem found (its error family says what kind); silent when valid."""
        validate_dataset(self, strict=strict)

    # --- mutations

    @contextmanager
    def _mutation(self) -> Iterator[tuple[Undo, Registry]]:
        if not self.records_path.is_file() and not journal_pending(str(self.path)):
            raise DatasetError(f"{self.id}: no dataset at {self.path}", dataset=self.id)
        with dataset_lock(self.path, timeout=self.lock_timeout, ctx=self.ctx), Undo() as undo:
            complete_pending_promotion(self.path, self.id, timeout=self.lock_timeout, ctx=self.ctx)
            if not self.records_path.is_file():
                raise DatasetError(f"{self.id}: no dataset at {self.path}", dataset=self.id)
            yield undo, ensure_registry(self.root)

    def recover(self) -> bool:
        """Complete a promotion an interrupted sync left pending; True when there was one."""
        if not self.path.is_dir():
            return False
        with dataset_lock(self.path, timeout=self.lock_timeout, ctx=self.ctx):
            return complete_pending_promotion(self.path, self.id, timeout=self.lock_timeout, ctx=self.ctx)

    def _freeze(self, undo: Undo, registry: Registry) -> None:
        undo.mkdir(self.path / REGISTRY_DIR)
        created = freeze_registry(registry, self.path)
        if created is not None:
            undo.created(created)

    def _log(self, action: str, registry: Registry, **fields: object) -> None:
        event_log.append_event(
            self.path,
            action,
            dataset_id=self.id,
            root=self.root,
            ctx=self.ctx,
            registry_hash=registry.hash,
            timeout=self.lock_timeout,
            **fields,
        )

    def import_rows(
        self, data: pa.Table | Path | str, *, source: str | None = None, fmt: str | None = None
    ) -> int:
        """Append new records (CSV, JSONL, parquet or a table); returns how many were added."""
        table = load_input(data, fmt=fmt, types=INPUT_TYPES, dataset=self.id)
        with self._mutation() as (undo, registry):
            rows = prepare_rows(table, dataset=self.id, source=source, now=self.ctx.clock())
            existing = self.read_records().replace_schema_metadata(None).cast(CORE_SCHEMA)
            clash = pc.is_in(rows.column("id"), value_set=existing.column("id").combine_chunks())
            repeated = rows.column("id").filter(clash).to_pylist()
            if repeated:
                raise ValidationError(
                    f"{self.id}: duplicate ids: {len(repeated)} record(s) already in the dataset: "
                    f"{sample(sorted(repeated))}",
                    dataset=self.id,
                )
            metadata = self.records_metadata()
            metadata[META_REGISTRY_HASH] = registry.hash
            self._freeze(undo, registry)
            undo.keep_original(self.records_path)
            write_parquet(pa.concat_tables([existing, rows]), self.records_path, metadata=metadata)
            self._log(
                "import",
                registry,
                args={"input": _input_label(data), "format": fmt, "source": source},
                metrics={"rows_added": rows.num_rows, "rows_total": existing.num_rows + rows.num_rows},
            )
        return rows.num_rows

    def attach(
        self,
        data: pa.Table | Path | str,
        *,
        namespace: str,
        key: str = "id",
        allow_missing: bool = False,
        fmt: str | None = None,
        key_col: str | None = None,
        columns: list[str] | None = None,
    ) -> Path:
        """Write one overlay part after checking it against the registry and the records; returns its path.

        `key_col` names the input column holding the key, `columns` the input columns to keep.
        """
        try:
            check_namespace_name(namespace)
        except NamespaceError as error:
            raise NamespaceError(f"{self.id}: attach: {error.message}", dataset=self.id) from None
        where = f"{self.id}: attach {namespace}"
        with self._mutation() as (undo, registry):
            spec = registry.require(namespace, dataset=self.id)
            types = {key: pa.string(), **spec.arrow_types()}
            table = load_input(data, fmt=fmt, types=types, dataset=self.id)
            table = select_input(table, key=key, key_col=key_col, columns=columns, where=where)
            part = check_part(table, namespace=namespace, key=key, spec=spec, where=where)
            check_keys(part, key=key, records=self.read_records(), allow_missing=allow_missing, where=where)
            now = self.ctx.clock()
            folder = self.path / DERIVED_DIR / namespace
            target = folder / part_name(now, self.ctx.random_hex())
            while target.exists():
                target = folder / part_name(now, self.ctx.random_hex())
            metadata = part_metadata(
                namespace, key, rfc3339(now), registry.hash, namespace_contract_hash(namespace, spec.columns)
            )
            self._freeze(undo, registry)
            undo.mkdir(self.path / DERIVED_DIR)
            undo.mkdir(folder)
            undo.created(target)
            write_parquet(part, target, metadata=metadata)
            self._log(
                "attach",
                registry,
                args={
                    "namespace": namespace,
                    "key": key,
                    "allow_missing": allow_missing,
                    "input": _input_label(data),
                },
                metrics={"rows": part.num_rows, "columns": part.column_names[1:]},
                artifacts=[target.relative_to(self.path).as_posix()],
            )
        return target

    def snapshot(self) -> Path:
        """Copy `records.parquet` to `_snapshots/records-<stamp>.parquet`; keeps the newest five."""
        with self._mutation() as (undo, registry):
            folder = self.path / SNAPSHOTS_DIR
            target = folder / snapshot_name(self.ctx.clock())
            while target.exists():
                target = folder / snapshot_name(self.ctx.clock())
            self._freeze(undo, registry)
            undo.mkdir(folder)
            undo.created(target)
            temp = temp_sibling(target)
            shutil.copyfile(self.records_path, temp)
            publish(temp, target)
            surplus = surplus_snapshots(self.path)
            self._log(
                "snapshot",
                registry,
                artifacts=[target.relative_to(self.path).as_posix()],
                maintenance={"pruned": [path.relative_to(self.path).as_posix() for path in surplus]},
            )
            for path in surplus:
                path.unlink()
            if surplus:
                fsync_dir(folder)
        return target


def list_datasets(root: Path | str) -> list[str]:
    """Ids of the datasets under `root`: flat (`demo`) and one namespace deep (`ns/demo`)."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = []
    for child in sorted(root.iterdir()):
        if child.name.startswith(".") or not child.is_dir():
            continue
        if (child / RECORDS_FILE).is_file():
            candidates = [child.name]
        else:
            candidates = [
                f"{child.name}/{inner.name}"
                for inner in sorted(child.iterdir())
                if inner.is_dir() and not inner.name.startswith(".") and (inner / RECORDS_FILE).is_file()
            ]
        for candidate in candidates:
            try:
                found.append(check_dataset_id(candidate))
            except ValueError:
                continue
    return found
