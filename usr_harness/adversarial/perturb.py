"""Random perturbations of a valid overlay part, for the accept-or-reject-cleanly property."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import pyarrow as pa
from hypothesis import strategies as st

from usr_harness.adversarial.hostile import HOMOGLYPH
from usr_harness.dataset.schema import CORE_COLUMNS
from usr_harness.mock.strategies import overlay_parts, values_for

HOSTILE_NAMES = st.sampled_from(
    (
        "score",
        "DenseGen__score",
        f"{HOMOGLYPH}__score",
        "densegen_score",
        "densegen__",
        "__score",
        "2densegen__score",
        "dense-gen__score",
        "usr__deleted",
        "usr_state__note",
        "ghost__score",
        "infer__llr",
        "densegen__extra",
        "densegen__score ",
        *CORE_COLUMNS,
    )
)
HOSTILE_NAMESPACES = st.sampled_from(
    ("infer", "densegen", "DenseGen", HOMOGLYPH, "usr", "usr_state", "ghost", "", "2x", "a-b")
)
HOSTILE_TYPES: dict[str, pa.DataType] = {
    "int64": pa.int64(),
    "int32": pa.int32(),
    "float32": pa.float32(),
    "float64": pa.float64(),
    "string": pa.string(),
    "large_string": pa.large_string(),
    "bool": pa.bool_(),
    "list<float64>": pa.list_(pa.float64()),
    "list<string>": pa.list_(pa.string()),
    "list<list<float64>>": pa.list_(pa.list_(pa.float64())),
    "struct<value: float64>": pa.struct([("value", pa.float64())]),
    "timestamp[us]": pa.timestamp("us"),
    "null": pa.null(),
}


@dataclass(frozen=True)
class Perturbed:
    """The attach call to make (`namespace`, `key`, `table`) and the perturbations that produced it."""

    namespace: str
    key: str
    table: pa.Table
    steps: tuple[str, ...] = ()


ELEMENTS: dict[str, st.SearchStrategy] = {
    "int32": st.integers(-(2**31), 2**31 - 1),
    "float32": values_for("float64"),
    "large_string": values_for("string"),
    "list<list<float64>>": st.lists(values_for("list<float64>"), max_size=3),
    "struct<value: float64>": st.fixed_dictionaries({"value": values_for("float64")}),
    "timestamp[us]": st.datetimes(),
}
"""Element strategies for the hostile types the registry does not know (the others use `values_for`)."""


def _values(draw: st.DrawFn, type_name: str, n: int) -> pa.Array:
    """`n` values of a (possibly hostile) arrow type, some of them null."""
    if type_name == "null":
        return pa.nulls(n)
    element = ELEMENTS[type_name] if type_name in ELEMENTS else values_for(type_name)
    return pa.array(draw(st.lists(st.none() | element, min_size=n, max_size=n)), HOSTILE_TYPES[type_name])


def _rebuild(values: list, kind: pa.DataType) -> pa.Array:
    """`values` as `kind` when they still fit it, else as strings (an edit may not fit the column type)."""
    try:
        return pa.array(values, kind)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if value is None else str(value) for value in values], pa.string())


def _pick(draw: st.DrawFn, table: pa.Table) -> int | None:
    """A column position (names may repeat after a rename, so columns are addressed by index)."""
    return draw(st.integers(0, table.num_columns - 1)) if table.num_columns else None


def _rename(draw: st.DrawFn, part: Perturbed) -> Perturbed:
    index = _pick(draw, part.table)
    if index is None:
        return part
    new = draw(HOSTILE_NAMES)
    names = list(part.table.column_names)
    old, names[index] = names[index], new
    return replace(part, table=part.table.rename_columns(names), steps=(*part.steps, f"rename {old}->{new}"))


def _retype(draw: st.DrawFn, part: Perturbed) -> Perturbed:
    index = _pick(draw, part.table)
    if index is None:
        return part
    name = part.table.column_names[index]
    type_name = draw(st.sampled_from(sorted(HOSTILE_TYPES)))
    table = part.table.set_column(index, name, _values(draw, type_name, part.table.num_rows))
    return replace(part, table=table, steps=(*part.steps, f"retype {name}:{type_name}"))


def _add(draw: st.DrawFn, part: Perturbed) -> Perturbed:
    name = draw(HOSTILE_NAMES | st.text(min_size=0, max_size=12))
    if name in part.table.column_names:
        return part
    type_name = draw(st.sampled_from(sorted(HOSTILE_TYPES)))
    table = part.table.append_column(name, _values(draw, type_name, part.table.num_rows))
    return replace(part, table=table, steps=(*part.steps, f"add {name}:{type_name}"))


def _drop(draw: st.DrawFn, part: Perturbed) -> Perturbed:
    index = _pick(draw, part.table)
    if index is None:
        return part
    name = part.table.column_names[index]
    return replace(part, table=part.table.remove_column(index), steps=(*part.steps, f"drop {name}"))


def _null(draw: st.DrawFn, part: Perturbed) -> Perturbed:
    index = _pick(draw, part.table)
    if index is None or not part.table.num_rows:
        return part
    name = part.table.column_names[index]
    row = draw(st.integers(0, part.table.num_rows - 1))
    column = part.table.column(index).to_pylist()
    column[row] = None
    table = part.table.set_column(index, name, _rebuild(column, part.table.schema.field(index).type))
    return replace(part, table=table, steps=(*part.steps, f"null {name}[{row}]"))


def _duplicate(draw: st.DrawFn, part: Perturbed) -> Perturbed:
    if not part.table.num_rows:
        return part
    row = draw(st.integers(0, part.table.num_rows - 1))
    table = pa.concat_tables([part.table, part.table.slice(row, 1)])
    return replace(part, table=table, steps=(*part.steps, f"duplicate row {row}"))


def _unknown_key(draw: st.DrawFn, part: Perturbed) -> Perturbed:
    if part.key not in part.table.column_names or not part.table.num_rows:
        return part
    row = draw(st.integers(0, part.table.num_rows - 1))
    index = part.table.column_names.index(part.key)
    keys = part.table.column(index).to_pylist()
    keys[row] = draw(st.text("0123456789abcdef", min_size=40, max_size=40) | st.text(max_size=8))
    array = _rebuild(keys, part.table.schema.field(index).type)
    table = part.table.set_column(index, part.key, array)
    return replace(part, table=table, steps=(*part.steps, f"unknown key at {row}"))


def _empty(draw: st.DrawFn, part: Perturbed) -> Perturbed:
    return replace(part, table=part.table.slice(0, 0), steps=(*part.steps, "zero rows"))


def _namespace(draw: st.DrawFn, part: Perturbed) -> Perturbed:
    namespace = draw(HOSTILE_NAMESPACES)
    return replace(part, namespace=namespace, steps=(*part.steps, f"namespace {namespace!r}"))


def _key(draw: st.DrawFn, part: Perturbed) -> Perturbed:
    key = draw(st.sampled_from(("sequence", "densegen__score", "bogus", "", "ID")))
    return replace(part, key=key, steps=(*part.steps, f"key {key!r}"))


def _huge(draw: st.DrawFn, part: Perturbed) -> Perturbed:
    strings = [i for i, field in enumerate(part.table.schema) if field.type == pa.string()]
    if not strings or not part.table.num_rows:
        return part
    index = draw(st.sampled_from(strings))
    name = part.table.column_names[index]
    size = draw(st.sampled_from((1 << 16, 1 << 20)))
    column = part.table.column(index).to_pylist()
    column[0] = "x" * size
    table = part.table.set_column(index, name, pa.array(column, pa.string()))
    return replace(part, table=table, steps=(*part.steps, f"huge {name} {size}B"))


def _metadata(draw: st.DrawFn, part: Perturbed) -> Perturbed:
    key = draw(st.sampled_from(("usr:overlay_namespace", "usr:registry_hash", "usr:namespace_contract_hash")))
    value = draw(st.sampled_from(("infer", "0" * 64, "", "ghost")))
    table = part.table.replace_schema_metadata({key: value})
    return replace(part, table=table, steps=(*part.steps, f"metadata {key}={value!r}"))


def _reorder(draw: st.DrawFn, part: Perturbed) -> Perturbed:
    order = draw(st.permutations(range(part.table.num_columns)))
    return replace(part, table=part.table.select(list(order)), steps=(*part.steps, "reorder columns"))


PERTURBATIONS: dict[str, Callable[[st.DrawFn, Perturbed], Perturbed]] = {
    "rename": _rename,
    "retype": _retype,
    "add": _add,
    "drop": _drop,
    "null": _null,
    "duplicate": _duplicate,
    "unknown_key": _unknown_key,
    "empty": _empty,
    "namespace": _namespace,
    "key": _key,
    "huge": _huge,
    "metadata": _metadata,
    "reorder": _reorder,
}


@st.composite
def perturbed_overlays(draw: st.DrawFn, ids: Sequence[str], *, max_steps: int = 3) -> Perturbed:
    """A valid mock part over `ids`, then 0..`max_steps` random perturbations (0 keeps it valid)."""
    base = draw(overlay_parts(ids))
    part = Perturbed(base.namespace, "id", base.table)
    for name in draw(st.lists(st.sampled_from(sorted(PERTURBATIONS)), max_size=max_steps)):
        part = PERTURBATIONS[name](draw, part)
    return part
