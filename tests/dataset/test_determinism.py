"""A seeded WriteContext makes every dataset file byte-identical from run to run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa

from tests.dataset.helpers import DENSEGEN, densegen_part, make_rows, tree_digest
from usr_harness.dataset import Dataset
from usr_harness.dataset.context import seeded_context
from usr_harness.dataset.layout import EVENTS_FILE
from usr_harness.dataset.registry import register_namespace


def build(root: Path, seed: int) -> dict[str, str]:
    register_namespace(root, "densegen", DENSEGEN)
    dataset = Dataset.init(root, "ns/demo", source="seeded", notes="twice", ctx=seeded_context(seed))
    dataset.import_rows(make_rows(30, seed=1))
    ids = dataset.read_records().column("id").to_pylist()
    dataset.attach(densegen_part(ids[:10]), namespace="densegen")
    dataset.attach(
        pa.table({"sequence": dataset.read_records().column("sequence")[:3], "densegen__score": [1.0] * 3}),
        namespace="densegen",
        key="sequence",
    )
    dataset.snapshot()
    dataset.validate(strict=True)
    return tree_digest(root)


def test_same_seed_same_bytes_different_seed_different_bytes(tmp_path: Path) -> None:
    root = tmp_path / "root"
    first = build(root, 11)
    log = (root / "ns" / "demo" / EVENTS_FILE).read_text()
    assert log.count('"actor":{"tool":"usr-harness","run_id":"seed-11","host":"mock-host","pid":0}') == 5
    shutil.rmtree(root)
    assert build(root, 11) == first
    shutil.rmtree(root)
    other = build(root, 12)
    assert other != first
    assert other["registry.yaml"] == first["registry.yaml"]
