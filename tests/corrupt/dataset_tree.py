"""A complete, valid USR datasets root made by the dataset layer: every section, plus runtime files.

Seeded, so every test starts from the same bytes; `validate --strict` passes on it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa

from usr_harness.dataset import Dataset
from usr_harness.dataset.context import seeded_context
from usr_harness.dataset.registry import register_namespace

DATASET = "demo"
ROWS = 120


def build_datasets_root(root: Path, dataset: str = DATASET) -> Path:
    """registry.yaml and one dataset: records, meta, events, 2 snapshots, 2 overlay parts, aux files."""
    register_namespace(root, "densegen", [("densegen__score", "float64")], owner="hpc", description="scores")
    demo = Dataset.init(root, dataset, source="test", ctx=seeded_context(6))
    demo.import_rows(_records(ROWS), source="test")
    demo.snapshot()
    ids = demo.read_records().column("id")
    for scale in (0.5, 1.5):
        scores = pa.array([scale * i for i in range(len(ids))], pa.float64())
        demo.attach(pa.table({"id": ids, "densegen__score": scores}), namespace="densegen")
    demo.snapshot()
    artifacts = demo.path / "_artifacts"
    artifacts.mkdir()
    (artifacts / "notes.txt").write_text("free-form notes\n" * 20)
    (artifacts / "summary.json").write_text(json.dumps({"rows": ROWS, "parts": 2}))
    for runtime in (".usr.lock", ".events.lock"):
        (demo.path / runtime).touch()
    return root


def _records(rows: int) -> pa.Table:
    prefixes = ["".join("ACGT"[(i >> (2 * j)) % 4] for j in range(12)) for i in range(rows)]
    sequences = [prefix + "ACGT" * (2 + i % 3) for i, prefix in enumerate(prefixes)]
    return pa.table({"bio_type": ["dna"] * rows, "sequence": sequences, "alphabet": ["dna_4"] * rows})
