"""The hypothesis strategies only ever produce inputs the dataset layer accepts."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given

from usr_harness.dataset import Dataset
from usr_harness.mock.strategies import MockDataset, datasets, overlay_parts, records


@given(records())
def test_records_import_and_validate(table) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        dataset = Dataset.init(Path(scratch), "demo")
        assert dataset.import_rows(table) == table.num_rows
        dataset.validate(strict=True)


@given(datasets())
def test_datasets_materialize_valid(spec: MockDataset) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        dataset = spec.materialize(Path(scratch), "demo")
        dataset.validate(strict=True)
        assert dataset.read().num_rows == spec.records.num_rows


@given(overlay_parts(["a" * 40, "b" * 40, "c" * 40]))
def test_overlay_parts_key_on_the_given_ids(part) -> None:
    keys = part.table.column("id").to_pylist()
    assert keys and len(set(keys)) == len(keys) <= 3
    assert all(name == "id" or name.startswith(f"{part.namespace}__") for name in part.table.column_names)
