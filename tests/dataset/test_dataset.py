"""Dataset init / open / import / info / list: the files each writes and every refusal leaving no trace."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.dataset.helpers import make_rows, tree_digest
from usr_harness.dataset import Dataset, list_datasets
from usr_harness.dataset.context import WriteContext, seeded_context
from usr_harness.dataset.ids import record_id
from usr_harness.dataset.layout import EVENTS_FILE, TEMP_PREFIX
from usr_harness.dataset.parquet_io import read_kv_metadata
from usr_harness.dataset.registry import load_registry
from usr_harness.dataset.schema import CORE_SCHEMA
from usr_harness.errors import DatasetError, EventsError, SchemaError, UsageError, ValidationError


def events(dataset: Dataset) -> list[dict]:
    return [json.loads(line) for line in (dataset.path / EVENTS_FILE).read_text().splitlines()]


def test_init_writes_records_meta_event_and_frozen_registry(root: Path, ctx: WriteContext) -> None:
    dataset = Dataset.init(root, "demo", source="lab run 7", notes="first batch", ctx=ctx)
    assert (dataset.root, dataset.id, dataset.path, dataset.ctx) == (root, "demo", root / "demo", ctx)
    records = pq.read_table(dataset.path / "records.parquet")
    assert records.num_rows == 0 and records.schema.equals(CORE_SCHEMA)
    registry = load_registry(root)
    assert read_kv_metadata(dataset.path / "records.parquet") == {
        "usr:schema_version": "1",
        "usr:id_hash": "sha1_utf8_pipe",
        "usr:dataset_created_at": "2026-01-01T00:00:07.000000Z",
        "usr:registry_hash": registry.hash,
    }
    meta = (dataset.path / "meta.md").read_text()
    assert meta.startswith("name: demo\n") and "source: lab run 7" in meta and meta.endswith("first batch\n")
    frozen = dataset.path / "_registry" / f"registry.{registry.hash}.yaml"
    assert hashlib.sha256(frozen.read_bytes()).hexdigest() == registry.hash
    (event,) = events(dataset)
    assert event["action"] == "init" and event["args"] == {"source": "lab run 7", "notes": "first batch"}
    assert event["registry_hash"] == registry.hash and event["fingerprint"]["rows"] == 0
    assert not any(p.name.startswith(TEMP_PREFIX) for p in root.iterdir())
    dataset.validate(strict=True)


def test_init_creates_the_registry_when_the_root_has_none(tmp_path: Path) -> None:
    Dataset.init(tmp_path / "fresh", "ns/demo", ctx=seeded_context(1)).validate(strict=True)
    assert set(load_registry(tmp_path / "fresh").namespaces) == {"usr_state"}


@pytest.mark.parametrize(
    "bad", ["../x", "/abs", "a/b/c", "archived", "archived_2024/x", ".", "", "a b", "x/..", "-"]
)
def test_unsafe_ids_are_refused(root: Path, bad: str) -> None:
    before = tree_digest(root)
    with pytest.raises(DatasetError):
        Dataset.init(root, bad)
    with pytest.raises(DatasetError):
        Dataset.open(root, bad)
    assert tree_digest(root) == before


def test_init_refuses_an_existing_dataset_and_open_a_missing_one(dataset: Dataset) -> None:
    before = tree_digest(dataset.path)
    with pytest.raises(DatasetError, match="already exists"):
        Dataset.init(dataset.root, "demo")
    assert tree_digest(dataset.path) == before
    with pytest.raises(DatasetError, match="no dataset"):
        Dataset.open(dataset.root, "other")


def test_import_derives_ids_lengths_source_and_created_at(root: Path) -> None:
    dataset = Dataset.init(root, "demo", ctx=seeded_context(2))
    rows = pa.table(
        {"bio_type": ["dna", "protein"], "sequence": [" acgtn ", "MKX"], "alphabet": ["dna_5", "protein_21"]}
    )
    assert dataset.import_rows(rows, source="bench") == 2
    got = dataset.read_records().to_pylist()
    assert [r["id"] for r in got] == [record_id("dna", "acgtn"), record_id("protein", "MKX")]
    assert [r["sequence"] for r in got] == ["acgtn", "MKX"] and [r["length"] for r in got] == [5, 3]
    assert {r["source"] for r in got} == {"bench"}
    assert {r["created_at"] for r in got} == {datetime(2026, 1, 1, 0, 0, 2, 2000, tzinfo=UTC)}
    event = events(dataset)[-1]
    assert event["action"] == "import" and event["metrics"] == {"rows_added": 2, "rows_total": 2}
    assert event["fingerprint"]["rows"] == 2
    assert dataset.import_rows(make_rows(3, seed=9)) == 3
    assert dataset.read_records().num_rows == 5
    dataset.validate(strict=True)


def test_import_accepts_full_core_tables_and_checks_given_ids(dataset: Dataset, root: Path) -> None:
    other = Dataset.init(root, "copy", ctx=seeded_context(3))
    assert other.import_rows(dataset.read_records()) == 20
    assert other.read_records().equals(dataset.read_records())


def test_import_from_csv_jsonl_and_parquet_files(root: Path, tmp_path: Path) -> None:
    dataset = Dataset.init(root, "demo", ctx=seeded_context(4))
    (tmp_path / "a.csv").write_text(
        "bio_type,sequence,alphabet,source,created_at\ndna,ACGT,dna_4,csv,2026-02-01T10:00:00+02:00\n"
    )
    (tmp_path / "b.jsonl").write_text('{"bio_type":"rna","sequence":"ACGU","alphabet":"rna_4","length":4}\n')
    pq.write_table(make_rows(2, seed=5), tmp_path / "c.parquet")
    (tmp_path / "d.txt").write_text("bio_type,sequence,alphabet\nprotein,MK,protein_20\n")
    assert dataset.import_rows(tmp_path / "a.csv") == 1
    assert dataset.import_rows(tmp_path / "b.jsonl", source="json") == 1
    assert dataset.import_rows(str(tmp_path / "c.parquet")) == 2
    assert dataset.import_rows(tmp_path / "d.txt", fmt="csv") == 1
    got = dataset.read_records().to_pylist()
    assert got[0]["created_at"] == datetime(2026, 2, 1, 8, 0, tzinfo=UTC) and got[0]["source"] == "csv"
    assert got[1]["source"] == "json"
    dataset.validate(strict=True)


def _rows(**columns: list) -> pa.Table:
    base = {"bio_type": ["dna", "dna"], "sequence": ["ACGT", "GGCC"], "alphabet": ["dna_4", "dna_4"]}
    base.update(columns)
    return pa.table({k: v for k, v in base.items() if v is not None})


@pytest.mark.parametrize(
    ("data", "family", "token"),
    [
        (_rows(alphabet=None), SchemaError, "alphabet"),
        (_rows(Sequence=["A", "C"]), SchemaError, "Sequence"),
        (_rows().slice(0, 0), ValidationError, "no rows"),
        (_rows(sequence=["ACGT", "ACGT"]), ValidationError, "duplicate ids"),
        (_rows(sequence=["ACGT", "ACGZ"]), ValidationError, "outside alphabet dna_4"),
        (_rows(sequence=["ACGT", None]), ValidationError, "column sequence has a null"),
        (_rows(bio_type=["dna", "dna|rna"]), ValidationError, "bio_type"),
        (_rows(bio_type=["dna", "peptide"]), ValidationError, "peptide"),
        (_rows(alphabet=["dna_4", "dna_6"]), ValidationError, "dna_6"),
        (_rows(length=[4, 5]), ValidationError, "length"),
        (_rows(id=["0" * 40, "1" * 40]), ValidationError, "id at row 0"),
        (_rows(bio_type=[1, 2]), SchemaError, "bio_type"),
        (_rows(length=["4", "4"]), SchemaError, "length"),
        (
            _rows(created_at=pa.array([datetime(2026, 1, 1)] * 2, pa.timestamp("us"))),
            SchemaError,
            "created_at",
        ),
        (_rows(created_at=["2026-01-01T00:00:00", "2026-01-01T00:00:00"]), SchemaError, "created_at"),
        (_rows(created_at=[1.5, 2.5]), SchemaError, "created_at"),
    ],
)
def test_rejected_imports_leave_the_dataset_byte_identical(
    dataset: Dataset, data: pa.Table, family: type, token: str
) -> None:
    before = tree_digest(dataset.path)
    with pytest.raises(family) as caught:
        dataset.import_rows(data)
    assert token in caught.value.message and caught.value.message.startswith("demo: ")
    assert tree_digest(dataset.path) == before


def test_ids_already_in_the_dataset_are_named(dataset: Dataset) -> None:
    before = tree_digest(dataset.path)
    existing = dataset.read_records().slice(3, 2)
    fresh = make_rows(1, seed=99).to_pylist()
    clash = existing.select(["bio_type", "sequence", "alphabet"]).to_pylist()
    with pytest.raises(ValidationError, match="2 record\\(s\\) already in the dataset") as caught:
        dataset.import_rows(pa.Table.from_pylist(fresh + clash))
    assert all(record_id in caught.value.message for record_id in existing.column("id").to_pylist())
    assert tree_digest(dataset.path) == before


@pytest.mark.parametrize(
    ("name", "text", "family"),
    [
        ("x.parquet", "id,score\n1,2\n", SchemaError),
        ("x.jsonl", '{"bio_type": "dna",\n', SchemaError),
        ("x.csv", 'bio_type,sequence\n"unterminated\n', SchemaError),
        ("x.tsv", "anything", UsageError),
    ],
)
def test_unreadable_input_files(dataset: Dataset, tmp_path: Path, name: str, text: str, family: type) -> None:
    (tmp_path / name).write_text(text)
    before = tree_digest(dataset.path)
    with pytest.raises(family, match="x\\."):
        dataset.import_rows(tmp_path / name)
    with pytest.raises(UsageError, match="does not exist"):
        dataset.import_rows(tmp_path / "missing.csv")
    with pytest.raises(UsageError, match="format"):
        dataset.import_rows(tmp_path / name, fmt="xlsx")
    assert tree_digest(dataset.path) == before


def test_a_failure_while_writing_rolls_everything_back(dataset: Dataset) -> None:
    """The event append fails after records.parquet was replaced: the old bytes must come back."""
    log = dataset.path / EVENTS_FILE
    log.write_bytes(log.read_bytes().rstrip(b"\n"))
    before = tree_digest(dataset.path)
    with pytest.raises(EventsError, match="newline"):
        dataset.import_rows(make_rows(4, seed=42))
    assert tree_digest(dataset.path) == before
    assert not any(p.name.startswith(TEMP_PREFIX) for p in dataset.path.rglob("*"))


def test_a_large_import_is_fast(root: Path) -> None:
    n = 200_000
    sequences = pa.array([f"{i:018b}".replace("0", "A").replace("1", "C") + "GT" for i in range(n)])
    rows = pa.table(
        {
            "bio_type": pa.repeat(pa.scalar("dna"), n),
            "sequence": sequences,
            "alphabet": pa.repeat(pa.scalar("dna_4"), n),
        }
    )
    dataset = Dataset.init(root, "big", ctx=seeded_context(1))
    started = time.perf_counter()
    assert dataset.import_rows(rows) == n
    assert time.perf_counter() - started < 10
    assert dataset.read_records().num_rows == n


def test_info_events_tail_and_list(dataset: Dataset, root: Path) -> None:
    Dataset.init(root, "ns/second", ctx=seeded_context(5))
    (root / ".usr-stage-x").mkdir()
    (root / "archived_old").mkdir()
    (root / "archived_old" / "records.parquet").write_bytes(b"")
    (root / "empty").mkdir()
    assert list_datasets(root) == ["demo", "ns/second"]
    assert list_datasets(root / "nowhere") == []
    info = dataset.info()
    assert info["dataset"] == "demo" and info["rows"] == 20 and info["events"] == 2
    assert info["columns"][0] == "id" and info["parts"] == {} and info["snapshots"] == 0
    assert [e["action"] for e in dataset.events_tail(5)] == ["init", "import"]
    assert dataset.events_tail(1)[0]["action"] == "import"
