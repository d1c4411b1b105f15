"""Fixtures for the dataset layer tests: a datasets root with namespaces and a seeded dataset."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dataset.helpers import DENSEGEN, INFER, make_rows
from usr_harness.dataset import Dataset
from usr_harness.dataset.context import WriteContext, seeded_context
from usr_harness.dataset.registry import register_namespace


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A datasets root with densegen and infer registered."""
    path = tmp_path / "root"
    register_namespace(path, "densegen", DENSEGEN, owner="hpc", description="scores")
    register_namespace(path, "infer", INFER, owner="laptop")
    return path


@pytest.fixture
def ctx() -> WriteContext:
    return seeded_context(7)


@pytest.fixture
def dataset(root: Path, ctx: WriteContext) -> Dataset:
    """`demo` with 20 dna records."""
    created = Dataset.init(root, "demo", source="unit", ctx=ctx)
    created.import_rows(make_rows(20), source="unit")
    return created


@pytest.fixture
def ids(dataset: Dataset) -> list[str]:
    return dataset.read_records().column("id").to_pylist()
