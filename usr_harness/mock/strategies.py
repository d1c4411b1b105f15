"""Hypothesis strategies for valid USR inputs: core record tables, overlay parts and whole datasets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
from hypothesis import strategies as st

from usr_harness.dataset import Dataset
from usr_harness.dataset.context import WriteContext
from usr_harness.dataset.ids import record_id
from usr_harness.dataset.registry import COLUMN_TYPES
from usr_harness.dataset.schema import ALPHABETS_BY_BIO_TYPE, CORE_SCHEMA
from usr_harness.mock.batch import ensure_overlay_namespaces
from usr_harness.mock.overlays import OVERLAYS, overlay_spec
from usr_harness.mock.records import alphabet_symbols

_floats = st.floats(allow_nan=False, allow_infinity=False, width=64)
_texts = st.text(alphabet=st.characters(codec="utf-8"), max_size=24)


def values_for(type_name: str) -> st.SearchStrategy:
    """Python values of one registry column type (never null: nulls are a perturbation of their own)."""
    return {
        "int64": st.integers(-(2**63), 2**63 - 1),
        "float64": _floats,
        "string": _texts,
        "bool": st.booleans(),
        "list<int64>": st.lists(st.integers(-(2**63), 2**63 - 1), max_size=8),
        "list<float64>": st.lists(_floats, max_size=8),
        "list<string>": st.lists(_texts, max_size=4),
    }[type_name]


@st.composite
def _sequence_row(draw: st.DrawFn) -> tuple[str, str, str]:
    bio_type = draw(st.sampled_from(sorted(ALPHABETS_BY_BIO_TYPE)))
    alphabet = draw(st.sampled_from(ALPHABETS_BY_BIO_TYPE[bio_type]))
    symbols = alphabet_symbols(alphabet)
    sequence = draw(st.text(alphabet=symbols + symbols.lower(), min_size=1, max_size=80))
    return bio_type, alphabet, sequence


@st.composite
def records(draw: st.DrawFn, *, min_rows: int = 1, max_rows: int = 12) -> pa.Table:
    """A valid core table: mixed bio types and alphabets, mixed-case symbols, unique ids."""
    rows = draw(
        st.lists(
            _sequence_row(),
            min_size=min_rows,
            max_size=max_rows,
            unique_by=lambda row: (row[0], row[2]),
        )
    )
    stamps = draw(
        st.lists(
            st.datetimes(
                min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
            ),
            min_size=len(rows),
            max_size=len(rows),
        )
    )
    sources = draw(st.lists(_texts, min_size=len(rows), max_size=len(rows)))
    columns = {
        "id": [record_id(bio_type, sequence) for bio_type, _, sequence in rows],
        "bio_type": [row[0] for row in rows],
        "sequence": [row[2] for row in rows],
        "alphabet": [row[1] for row in rows],
        "length": [len(row[2]) for row in rows],
        "source": sources,
        "created_at": stamps,
    }
    return pa.Table.from_pydict({f.name: columns[f.name] for f in CORE_SCHEMA}, schema=CORE_SCHEMA)


@dataclass(frozen=True)
class OverlayPart:
    namespace: str
    table: pa.Table


@st.composite
def overlay_parts(
    draw: st.DrawFn, ids: Sequence[str] | None = None, *, namespaces: Sequence[str] = tuple(OVERLAYS)
) -> OverlayPart:
    """A valid part for one mock namespace, keyed on `id`; keys are a non-empty subset of `ids` when given."""
    spec = overlay_spec(draw(st.sampled_from(list(namespaces))))
    if ids:
        keys = draw(st.lists(st.sampled_from(list(ids)), min_size=1, max_size=len(ids), unique=True))
    else:
        keys = draw(st.lists(st.text("0123456789abcdef", min_size=40, max_size=40), min_size=1, unique=True))
    data: dict[str, list] = {"id": keys}
    fields = [pa.field("id", pa.string())]
    for name, type_name in spec.columns:
        data[name] = draw(st.lists(values_for(type_name), min_size=len(keys), max_size=len(keys)))
        fields.append(pa.field(name, COLUMN_TYPES[type_name]))
    return OverlayPart(spec.namespace, pa.Table.from_pydict(data, schema=pa.schema(fields)))


@dataclass(frozen=True)
class MockDataset:
    """A dataset as plain data; `materialize` writes it through the dataset layer."""

    records: pa.Table
    parts: tuple[OverlayPart, ...]

    def materialize(self, root: Path, dataset_id: str, *, ctx: WriteContext | None = None) -> Dataset:
        ensure_overlay_namespaces(root, sorted({part.namespace for part in self.parts}))
        dataset = Dataset.init(root, dataset_id, source="hypothesis", ctx=ctx)
        dataset.import_rows(self.records)
        for part in self.parts:
            dataset.attach(part.table, namespace=part.namespace)
        return dataset


@st.composite
def datasets(draw: st.DrawFn, *, max_rows: int = 12, max_parts: int = 3) -> MockDataset:
    """Records plus up to `max_parts` overlay parts over their ids (overlapping keys exercise merging)."""
    table = draw(records(max_rows=max_rows))
    ids = table.column("id").to_pylist()
    parts = draw(st.lists(overlay_parts(ids), max_size=max_parts))
    return MockDataset(table, tuple(parts))
