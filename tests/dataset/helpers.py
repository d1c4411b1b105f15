"""Builders shared by the dataset tests: input rows, overlay parts, and a digest of a dataset tree."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pyarrow as pa

from usr_harness.dataset.layout import is_runtime
from usr_harness.dataset.schema import ALPHABETS

DENSEGEN = [
    ("densegen__score", "float64"),
    ("densegen__hits", "list<float64>"),
    ("densegen__n_sites", "int64"),
    ("densegen__library", "string"),
]
INFER = [("infer__llr", "float64"), ("infer__tags", "list<string>"), ("infer__passed", "bool")]


def make_rows(n: int, *, seed: int = 0, bio_type: str = "dna", alphabet: str = "dna_4") -> pa.Table:
    """`n` distinct input rows (bio_type, sequence, alphabet) of 30-40 random symbols."""
    rng = random.Random(seed)
    symbols = ALPHABETS[alphabet]
    sequences: set[str] = set()
    while len(sequences) < n:
        sequences.add("".join(rng.choice(symbols) for _ in range(rng.randint(30, 40))))
    ordered = sorted(sequences)
    rng.shuffle(ordered)
    return pa.table({"bio_type": [bio_type] * n, "sequence": ordered, "alphabet": [alphabet] * n})


def densegen_part(ids: list[str], *, scale: float = 1.0) -> pa.Table:
    n = len(ids)
    return pa.table(
        {
            "id": pa.array(ids, pa.string()),
            "densegen__score": pa.array([scale * i for i in range(n)], pa.float64()),
            "densegen__hits": pa.array([[float(i)] * (i % 3) for i in range(n)], pa.list_(pa.float64())),
            "densegen__n_sites": pa.array(range(n), pa.int64()),
            "densegen__library": pa.array([f"lib{i % 2}" for i in range(n)], pa.string()),
        }
    )


def tree_digest(folder: Path) -> dict[str, str]:
    """sha256 of every file and a marker for every folder under `folder`, runtime files left out."""
    found = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        if is_runtime(relative):
            continue
        found[relative] = "<dir>" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return found
