"""BatchSeries: rounds land through the dataset layer, validate strictly, and replay byte for byte."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from usr_harness.dataset import Dataset
from usr_harness.dataset.events import validate_event_log
from usr_harness.dataset.layout import EVENTS_FILE, is_runtime
from usr_harness.mock.series import ROUND_ACTION, BatchSeries


def tree_hashes(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file() and not is_runtime(path.name)
    }


def test_rounds_validate_strictly_and_leave_their_traces(tmp_path: Path) -> None:
    series = BatchSeries(21, records_per_round=40, snapshot_every=2)
    results = series.run(tmp_path, "hpc/demo", 5)
    dataset = Dataset.open(tmp_path, "hpc/demo")
    dataset.validate(strict=True)
    assert dataset.read().num_rows == 200
    assert [r.namespace for r in results] == ["densegen", "infer", "densegen", "infer", "densegen"]
    assert [r.round for r in results if r.snapshot] == [1, 3]
    for result in results:
        assert result.part.exists()
        assert (result.checkpoint is not None) == (result.snapshot is not None)
    checkpoint = json.loads((dataset.path / "_artifacts" / "checkpoint-3.json").read_text())
    assert checkpoint["round"] == 3 and checkpoint["seed"] == 21 and len(checkpoint["parts"]) == 4
    log = (dataset.path / EVENTS_FILE).read_bytes()
    assert validate_event_log(log) >= 5
    rounds = [json.loads(line) for line in log.splitlines() if json.loads(line)["action"] == ROUND_ACTION]
    assert [event["args"]["round"] for event in rounds] == [0, 1, 2, 3, 4]
    assert rounds[0]["args"]["operator"] and rounds[0]["actor"]["host"] == rounds[0]["args"]["host"]


def test_same_seed_same_bytes_and_different_seed_differs(tmp_path: Path) -> None:
    root = tmp_path / "root"

    def run(seed: int) -> dict[str, str]:
        BatchSeries(seed, records_per_round=30).run(root, "demo", 3)
        hashes = tree_hashes(root)
        shutil.rmtree(root)
        return hashes

    first, second, other = run(5), run(5), run(6)
    assert first == second
    assert any(path.endswith(".parquet") for path in first)
    assert first["demo/records.parquet"] != other["demo/records.parquet"]


def test_a_later_round_continues_an_earlier_series(tmp_path: Path) -> None:
    series = BatchSeries(8, records_per_round=20)
    series.run(tmp_path, "demo", 2)
    series.apply_round(tmp_path, "demo", 2)
    dataset = Dataset.open(tmp_path, "demo")
    dataset.validate(strict=True)
    assert dataset.read().num_rows == 60
