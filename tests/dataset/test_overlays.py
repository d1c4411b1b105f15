"""attach: every overlay rule (a refusal leaves the dataset byte-identical); read: last-writer-wins."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from tests.dataset.helpers import DENSEGEN, densegen_part, make_rows, tree_digest
from usr_harness.dataset import Dataset, overlays
from usr_harness.dataset.context import Actor, WriteContext, seeded_context
from usr_harness.dataset.layout import DERIVED_PART_NAME, EVENTS_FILE
from usr_harness.dataset.overlays import MAX_CELL_BYTES, MAX_LIST_ITEMS, types_match
from usr_harness.dataset.parquet_io import read_kv_metadata, verify_parquet
from usr_harness.dataset.registry import (
    NamespaceSpec,
    load_registry,
    namespace_contract_hash,
    register_namespace,
)
from usr_harness.errors import NamespaceError, RegistryError, SchemaError, UsageError, ValidationError

HOMOGLYPH = "dеnsegen"  # Cyrillic е


def test_attach_writes_a_well_named_part_with_its_five_metadata_keys(
    dataset: Dataset, ids: list[str]
) -> None:
    part = dataset.attach(densegen_part(ids[:5]), namespace="densegen")
    assert part.parent == dataset.path / "_derived" / "densegen" and DERIVED_PART_NAME.fullmatch(part.name)
    registry = load_registry(dataset.root)
    metadata = read_kv_metadata(part)
    assert metadata == {
        "usr:overlay_namespace": "densegen",
        "usr:overlay_key": "id",
        "usr:overlay_created_at": metadata["usr:overlay_created_at"],
        "usr:registry_hash": registry.hash,
        "usr:namespace_contract_hash": namespace_contract_hash("densegen", DENSEGEN),
    }
    stamp = datetime.strptime(part.name.split("-")[1], "%Y%m%dT%H%M%S%f").replace(tzinfo=UTC)
    assert metadata["usr:overlay_created_at"] == stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert verify_parquet(part) == (5, 5)
    assert (dataset.path / "_registry" / f"registry.{registry.hash}.yaml").is_file()
    event = dataset.events_tail(1)[0]
    assert event["action"] == "attach" and event["artifacts"] == [part.relative_to(dataset.path).as_posix()]
    assert event["args"]["namespace"] == "densegen" and event["metrics"]["rows"] == 5
    dataset.validate(strict=True)


def _part(ids: list[str], **columns: pa.Array | list) -> pa.Table:
    table = densegen_part(ids)
    for name, values in columns.items():
        array = values if isinstance(values, pa.Array) else pa.array(values)
        if name in table.column_names:
            table = table.set_column(table.column_names.index(name), name, array)
        else:
            table = table.append_column(name, array)
    return table


DENSE_ALL = [name for name, _ in DENSEGEN]
DENSE_REST = DENSE_ALL[1:]

CASES = [
    # (build(ids) -> (table, namespace, key), family, token)
    (
        lambda ids: (
            _part(ids).rename_columns(["id", "ghost__a", "ghost__b", "ghost__c", "ghost__d"]),
            "ghost",
            "id",
        ),
        NamespaceError,
        "'ghost' is not registered",
    ),
    (lambda ids: (_part(ids), "DenseGen", "id"), NamespaceError, "DenseGen"),
    (lambda ids: (_part(ids), HOMOGLYPH, "id"), NamespaceError, HOMOGLYPH),
    (
        lambda ids: (pa.table({"id": ids, "usr__deleted": [True] * len(ids)}), "usr", "id"),
        NamespaceError,
        "reserved",
    ),
    (lambda ids: (_part(ids), "usr_state", "id"), NamespaceError, "usr_state"),
    (
        lambda ids: (_part(ids).rename_columns(["id", "score", *DENSE_REST]), "densegen", "id"),
        SchemaError,
        "column score",
    ),
    (
        lambda ids: (_part(ids, infer__llr=[0.5] * len(ids)), "densegen", "id"),
        SchemaError,
        "namespace 'infer'",
    ),
    (
        lambda ids: (_part(ids, sequence=["A"] * len(ids)), "densegen", "id"),
        SchemaError,
        "shadows the core column sequence",
    ),
    (
        lambda ids: (_part(ids, densegen__extra=["x"] * len(ids)), "densegen", "id"),
        SchemaError,
        "densegen__extra is not registered",
    ),
    (
        lambda ids: (_part(ids, densegen__score=pa.array(range(len(ids)), pa.int64())), "densegen", "id"),
        SchemaError,
        "densegen__score is int64",
    ),
    (
        lambda ids: (_part(ids, densegen__score=pa.array([1.0] * len(ids), pa.float32())), "densegen", "id"),
        SchemaError,
        "densegen__score is float",
    ),
    (
        lambda ids: (_part(ids, densegen__score=[{"v": 1.0}] * len(ids)), "densegen", "id"),
        SchemaError,
        "densegen__score is struct",
    ),
    (
        lambda ids: (_part(ids, densegen__hits=[[[1.0]]] * len(ids)), "densegen", "id"),
        SchemaError,
        "densegen__hits",
    ),
    (
        lambda ids: (_part(ids, densegen__hits=["[1.0]"] * len(ids)), "densegen", "id"),
        SchemaError,
        "densegen__hits",
    ),
    (
        lambda ids: (_part(ids, densegen__library=[["a"]] * len(ids)), "densegen", "id"),
        SchemaError,
        "densegen__library",
    ),
    (lambda ids: (_part(ids).drop_columns(["id"]), "densegen", "id"), SchemaError, "no key column 'id'"),
    (
        lambda ids: (_part(ids, id=list(range(len(ids)))), "densegen", "id"),
        SchemaError,
        "key column id is int64",
    ),
    (lambda ids: (pa.table({"id": ids}), "densegen", "id"), SchemaError, "no densegen__ columns"),
    (
        lambda ids: (
            pa.Table.from_arrays([pa.array(ids), pa.array(ids)], names=["id", "id"]),
            "densegen",
            "id",
        ),
        SchemaError,
        "more than once",
    ),
    (lambda ids: (_part(ids).slice(0, 0), "densegen", "id"), ValidationError, "no rows"),
    (lambda ids: (_part(ids, id=[None, *ids[1:]]), "densegen", "id"), ValidationError, "null"),
    (lambda ids: (_part([*ids, ids[0]]), "densegen", "id"), ValidationError, "duplicate keys"),
    (lambda ids: (_part(["0" * 40, *ids[1:]]), "densegen", "id"), ValidationError, "0" * 40),
    (
        lambda ids: (
            _part(ids)
            .rename_columns(["sequence", *DENSE_ALL])
            .set_column(0, "sequence", pa.array(["ACGT" * 9 + "A" * i for i in range(len(ids))])),
            "densegen",
            "sequence",
        ),
        ValidationError,
        "sequence key(s) not in records",
    ),
    (lambda ids: (_part(ids), "densegen", "name"), UsageError, "join key"),
    (
        lambda ids: (
            _part(ids, densegen__library=["x" * (MAX_CELL_BYTES + 1)] + ["ok"] * (len(ids) - 1)),
            "densegen",
            "id",
        ),
        ValidationError,
        "densegen__library",
    ),
    (
        lambda ids: (
            _part(ids, densegen__hits=[[0.5] * (MAX_LIST_ITEMS + 1)] + [[]] * (len(ids) - 1)),
            "densegen",
            "id",
        ),
        ValidationError,
        "densegen__hits has a list",
    ),
]


@pytest.mark.parametrize(("build", "family", "token"), CASES)
def test_rejected_parts_leave_the_dataset_byte_identical(
    dataset: Dataset, ids: list[str], build, family, token
) -> None:
    table, namespace, key = build(ids[:6])
    before = tree_digest(dataset.path)
    with pytest.raises(family) as caught:
        dataset.attach(table, namespace=namespace, key=key)
    assert token in caught.value.message, caught.value.message
    assert caught.value.message.startswith("demo: ")
    assert tree_digest(dataset.path) == before


@pytest.mark.parametrize(
    ("name", "data"),
    [("x.parquet", b"id,densegen__score\nabc,1.0\n"), ("x.csv", b'id,densegen__score\n"abc,1\n')],
)
def test_unreadable_part_files_are_schema_errors(
    dataset: Dataset, tmp_path: Path, name: str, data: bytes
) -> None:
    (tmp_path / name).write_bytes(data)
    before = tree_digest(dataset.path)
    with pytest.raises(SchemaError, match="not a readable"):
        dataset.attach(tmp_path / name, namespace="densegen")
    assert tree_digest(dataset.path) == before


def test_a_truncated_part_file_is_a_schema_error(dataset: Dataset, ids: list[str], tmp_path: Path) -> None:
    pq.write_table(densegen_part(ids), tmp_path / "p.parquet")
    data = (tmp_path / "p.parquet").read_bytes()
    (tmp_path / "p.parquet").write_bytes(data[: len(data) // 2])
    with pytest.raises(SchemaError, match="parquet"):
        dataset.attach(tmp_path / "p.parquet", namespace="densegen")


def test_a_broken_registry_refuses_every_write(dataset: Dataset, ids: list[str]) -> None:
    (dataset.root / "registry.yaml").write_text("namespaces: {densegen: [\n")
    before = tree_digest(dataset.path)
    with pytest.raises(RegistryError, match=r"registry\.yaml"):
        dataset.attach(densegen_part(ids), namespace="densegen")
    with pytest.raises(RegistryError, match=r"registry\.yaml"):
        dataset.import_rows(make_rows(2, seed=3))
    assert tree_digest(dataset.path) == before


def test_subsets_strings_missing_keys_and_sequence_keys(dataset: Dataset, ids: list[str]) -> None:
    records = dataset.read_records()
    labels = pa.array(["a", "b", "c"]).dictionary_encode()
    subset = pa.table({"id": pa.array(ids[:3], pa.large_string()), "densegen__library": labels})
    dataset.attach(subset, namespace="densegen")
    unknown = ["f" * 40, ids[3]]
    dataset.attach(pa.table({"id": unknown, "infer__llr": [1.0, 2.0]}), namespace="infer", allow_missing=True)
    by_sequence = pa.table({"sequence": records.column("sequence")[5:7], "infer__passed": [True, False]})
    dataset.attach(by_sequence, namespace="infer", key="sequence")
    merged = dataset.read().to_pylist()
    assert [row["densegen__library"] for row in merged[:4]] == ["a", "b", "c", None]
    assert (
        merged[3]["infer__llr"] == 2.0
        and merged[5]["infer__passed"] is True
        and merged[6]["infer__passed"] is False
    )
    assert dataset.read().num_rows == 20
    assert dataset.read(overlays=False).equals(dataset.read_records())
    dataset.validate(strict=True)


def test_attach_from_csv_and_jsonl_uses_registry_types(
    dataset: Dataset, ids: list[str], tmp_path: Path
) -> None:
    (tmp_path / "p.csv").write_text(f"id,densegen__score,densegen__n_sites\n{ids[0]},1,2\n{ids[1]},2.5,3\n")
    (tmp_path / "p.jsonl").write_text(f'{{"id": "{ids[2]}", "infer__llr": 1, "infer__tags": ["x"]}}\n')
    dataset.attach(tmp_path / "p.csv", namespace="densegen")
    dataset.attach(tmp_path / "p.jsonl", namespace="infer")
    rows = dataset.read().to_pylist()
    assert (rows[0]["densegen__score"], rows[0]["densegen__n_sites"]) == (1.0, 2)
    assert rows[2]["infer__llr"] == 1.0 and rows[2]["infer__tags"] == ["x"]
    (tmp_path / "bad.csv").write_text(f"id,densegen__n_sites\n{ids[0]},2.5\n")
    with pytest.raises(SchemaError, match="not a readable CSV"):
        dataset.attach(tmp_path / "bad.csv", namespace="densegen")


def _fixed_clock_context(hexes: list[str]) -> WriteContext:
    moment = datetime(2026, 3, 1, tzinfo=UTC)
    return WriteContext(clock=lambda: moment, actor=Actor("t", "r", "h", 1), random_hex=iter(hexes).__next__)


def test_same_created_at_falls_back_to_the_file_name(root: Path) -> None:
    dataset = Dataset.init(root, "demo", ctx=_fixed_clock_context(["b" * 16, "a" * 16, "c" * 16]))
    dataset.import_rows(make_rows(3))
    keys = dataset.read_records().column("id").to_pylist()
    for score, name in ((1.0, "b"), (2.0, "a")):
        part = dataset.attach(pa.table({"id": keys, "densegen__score": [score] * 3}), namespace="densegen")
        assert part.name.endswith(f"-{name * 16}.parquet")
    assert set(dataset.read().column("densegen__score").to_pylist()) == {1.0}, "part-...-bbb sorts after -aaa"


def test_a_part_name_clash_draws_a_new_hex(root: Path) -> None:
    dataset = Dataset.init(root, "demo", ctx=_fixed_clock_context(["a" * 16, "a" * 16, "d" * 16]))
    dataset.import_rows(make_rows(2))
    table = pa.table({"id": dataset.read_records().column("id"), "densegen__score": [1.0, 2.0]})
    first, second = dataset.attach(table, namespace="densegen"), dataset.attach(table, namespace="densegen")
    assert first.name.endswith("a" * 16 + ".parquet") and second.name.endswith("d" * 16 + ".parquet")


def test_read_merges_by_metadata_time_not_by_write_order(dataset: Dataset, ids: list[str]) -> None:
    newer = dataset.attach(pa.table({"id": ids[:2], "densegen__score": [1.0, 1.0]}), namespace="densegen")
    sorts_first = newer.with_name(newer.name.replace("2026", "2025", 1))
    metadata = read_kv_metadata(newer)
    metadata["usr:overlay_created_at"] = metadata["usr:overlay_created_at"].replace("2026", "2027", 1)
    pq.write_table(
        pa.table({"id": ids[:2], "densegen__score": [9.0, 9.0]}).replace_schema_metadata(metadata),
        sorts_first,
    )
    assert dataset.read().column("densegen__score").to_pylist()[:2] == [9.0, 9.0]


def test_types_match_ignores_list_field_names() -> None:
    assert types_match(pa.list_(pa.field("element", pa.float64())), pa.list_(pa.float64()))
    assert not types_match(pa.large_list(pa.float64()), pa.list_(pa.float64()))


TAGGED = NamespaceSpec(columns=[("infer__tags", "list<string>"), ("infer__note", "string")])


def _tagged(tags: list[list[str]], notes: list[str]) -> pa.Table:
    ids = [f"id{n}" for n in range(len(tags))]
    return pa.table({"id": ids, "infer__tags": pa.array(tags, pa.list_(pa.string())), "infer__note": notes})


def test_cells_over_the_limit_are_found_in_columns_whose_total_is_over_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The cell limits hold cell by cell; a column's size only decides whether cells are measured."""
    monkeypatch.setattr(overlays, "MAX_CELL_BYTES", 8)
    monkeypatch.setattr(overlays, "MAX_LIST_ITEMS", 3)
    within = _tagged([["abcdefgh", "a"], ["b", "c", "d"], ["e"]] * 4, ["12345678"] * 12)
    assert overlays.check_part(within, namespace="infer", key="id", spec=TAGGED, where="p").num_rows == 12
    cases = [
        (_tagged([["a"]] * 11 + [["a", "b", "c", "d"]], ["n"] * 12), "infer__tags has a list of 4 elements"),
        (_tagged([["a"]] * 11 + [["abcdefghi"]], ["n"] * 12), "infer__tags has a 9-byte value"),
        (_tagged([["a"]] * 12, ["n"] * 11 + ["123456789"]), "infer__note has a 9-byte value"),
    ]
    for table, message in cases:
        with pytest.raises(ValidationError, match=message):
            overlays.check_part(table.slice(0), namespace="infer", key="id", spec=TAGGED, where="p")
        with pytest.raises(ValidationError, match=message):
            overlays.check_part(table.slice(6), namespace="infer", key="id", spec=TAGGED, where="p")


# --- properties

_scores = st.floats(allow_nan=False, width=64)


def _fresh(scratch: str, n: int) -> tuple[Dataset, list[str]]:
    root = Path(scratch)
    register_namespace(root, "densegen", DENSEGEN)
    dataset = Dataset.init(root, "demo", ctx=seeded_context(1))
    dataset.import_rows(make_rows(n, seed=n))
    return dataset, dataset.read_records().column("id").to_pylist()


@given(st.data())
def test_overlay_write_then_read_round_trips(data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        dataset, ids = _fresh(scratch, 8)
        keys = data.draw(st.lists(st.sampled_from(ids), min_size=1, unique=True))
        scores = data.draw(st.lists(_scores, min_size=len(keys), max_size=len(keys)))
        hits = data.draw(st.lists(st.lists(_scores, max_size=4), min_size=len(keys), max_size=len(keys)))
        part = pa.table(
            {"id": keys, "densegen__score": scores, "densegen__hits": pa.array(hits, pa.list_(pa.float64()))}
        )
        written = dataset.attach(part, namespace="densegen")
        assert pq.read_table(written).select(part.column_names).equals(part)
        merged = {row["id"]: row for row in dataset.read().to_pylist()}
        for key, score, hit in zip(keys, scores, hits, strict=True):
            assert merged[key]["densegen__score"] == score and merged[key]["densegen__hits"] == hit
        assert all(merged[key]["densegen__score"] is None for key in set(ids) - set(keys))


@given(st.data())
def test_last_writer_wins_per_key(data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        dataset, ids = _fresh(scratch, 6)
        model: dict[str, float] = {}
        for round_no in range(data.draw(st.integers(1, 4))):
            keys = data.draw(st.lists(st.sampled_from(ids), min_size=1, unique=True))
            dataset.attach(
                pa.table({"id": keys, "densegen__score": [float(round_no)] * len(keys)}), namespace="densegen"
            )
            model.update(dict.fromkeys(keys, float(round_no)))
        merged = dict(zip(ids, dataset.read().column("densegen__score").to_pylist(), strict=True))
        assert merged == {key: model.get(key) for key in ids}
        assert len(list((dataset.path / "_derived" / "densegen").iterdir())) == round_no + 1
        assert yaml.safe_load((dataset.path / EVENTS_FILE).read_text().splitlines()[-1])["action"] == "attach"
