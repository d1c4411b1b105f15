"""Small builders of hostile tables and files, shared by the catalogue's cases."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from usr_harness.adversarial.model import CaseEnv
from usr_harness.dataset.layout import DERIVED_DIR, RECORDS_FILE, REGISTRY_FILE
from usr_harness.mock.overlays import overlay_batch
from usr_harness.mock.records import mock_records

PLANTED_HEX = "deadbeefdeadbeef"
HOMOGLYPH = "dеnsegen"
"""`densegen` with its second letter replaced by CYRILLIC SMALL LETTER IE (U+0435)."""


def dataset_ids(env: CaseEnv) -> list[str]:
    return pq.read_table(env.dataset_dir / RECORDS_FILE, columns=["id"]).column("id").to_pylist()


def valid_part(env: CaseEnv, namespace: str = "densegen", rows: int = 8) -> pa.Table:
    """A part the dataset would accept: the first `rows` ids with freshly drawn values."""
    return overlay_batch(env.seed + 1, namespace, dataset_ids(env)[:rows])


def fresh_records(env: CaseEnv, rows: int = 6, **options: object) -> pa.Table:
    """Core rows not yet in the dataset (a different seed stream from the dataset's own)."""
    return mock_records(env.seed + 10_000, rows, **options)


def set_column(table: pa.Table, name: str, values: pa.Array | list) -> pa.Table:
    """Replace (or append) column `name`, letting the array carry whatever type it has."""
    array = values if isinstance(values, pa.Array) else pa.array(values)
    if name in table.column_names:
        return table.set_column(table.column_names.index(name), name, array)
    return table.append_column(name, array)


def rename(table: pa.Table, mapping: Mapping[str, str]) -> pa.Table:
    return table.rename_columns([mapping.get(name, name) for name in table.column_names])


def renamespace(table: pa.Table, old: str, new: str) -> pa.Table:
    """Move every `<old>__field` column to `<new>__field`."""
    prefix = f"{old}__"
    return rename(
        table, {c: new + "__" + c[len(prefix) :] for c in table.column_names if c.startswith(prefix)}
    )


def write_file(env: CaseEnv, name: str, data: bytes) -> Path:
    path = env.workdir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def newest_part(env: CaseEnv, namespace: str = "densegen") -> Path:
    parts = sorted((env.dataset_dir / DERIVED_DIR / namespace).glob("part-*.parquet"))
    if not parts:
        raise FileNotFoundError(f"no {namespace} part in {env.dataset_dir} to tamper with")
    return parts[-1]


def plant_part(env: CaseEnv, data: bytes, namespace: str = "densegen") -> Path:
    """Drop `data` into `_derived/<namespace>/` under a well-formed part name, beside the real parts."""
    stamp = newest_part(env, namespace).name.split("-")[1]
    target = env.dataset_dir / DERIVED_DIR / namespace / f"part-{stamp}-{PLANTED_HEX}.parquet"
    target.write_bytes(data)
    return target


def rewritten_part_bytes(
    env: CaseEnv,
    edits: Mapping[str, str] | None = None,
    transform: Callable[[pa.Table], pa.Table] | None = None,
    namespace: str = "densegen",
) -> bytes:
    """The newest real part, its rows passed through `transform` and some kv metadata values replaced."""
    table = pq.read_table(newest_part(env, namespace))
    metadata = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
    missing = set(edits or {}) - set(metadata)
    if missing:
        raise KeyError(f"part metadata has no {sorted(missing)}; keys are {sorted(metadata)}")
    metadata.update(edits or {})
    if transform is not None:
        table = transform(table)
    return table_bytes(table.replace_schema_metadata(metadata))


def table_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, write_page_checksum=True)
    return sink.getvalue().to_pybytes()


def mirror_to_remote(env: CaseEnv) -> CaseEnv:
    """Copy the registry and the dataset to `env.remote_root`; the returned env builds on the remote copy."""
    if env.remote_root is None:
        raise ValueError("a pull case needs a remote root")
    env.remote_root.mkdir(parents=True, exist_ok=True)
    shutil.copy2(env.root / REGISTRY_FILE, env.remote_root / REGISTRY_FILE)
    shutil.copytree(env.dataset_dir, env.remote_root / env.dataset_id, symlinks=True)
    return CaseEnv(env.remote_root, env.dataset_id, env.seed, env.workdir)


def edit_registry(env: CaseEnv, edit: Callable[[dict], str | dict]) -> None:
    """Rewrite `registry.yaml` by hand, as an operator with an editor would (no registry API involved)."""
    path = env.root / REGISTRY_FILE
    edited = edit(yaml.safe_load(path.read_text(encoding="utf-8")))
    text = edited if isinstance(edited, str) else yaml.safe_dump(edited, sort_keys=True)
    path.write_text(text, encoding="utf-8")
