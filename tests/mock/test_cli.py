"""`usr-harness mock` grows a dataset by rounds and refuses unknown producers as a usage error."""

from __future__ import annotations

from pathlib import Path

import pytest

from usr_harness.cli.harness.app import main
from usr_harness.dataset import Dataset


def test_mock_command_runs_rounds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["mock", "demo", "--root", str(tmp_path), "--seed", "3", "--records", "25", "--rounds", "3"]
    assert main([*argv, "--overlays", "infer,densegen"]) == 0
    out = capsys.readouterr().out
    assert "round 0: +25 records, infer part _derived/infer/part-" in out
    assert "round 2:" in out and "snapshot records-" in out and "checkpoint checkpoint-2.json" in out
    dataset = Dataset.open(tmp_path, "demo")
    dataset.validate(strict=True)
    assert dataset.read().num_rows == 75
    assert main([*argv[:-2], "--rounds", "1", "--first-round", "3"]) == 0
    assert Dataset.open(tmp_path, "demo").read().num_rows == 100


def test_unknown_overlay_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["mock", "demo", "--root", str(tmp_path), "--overlays", "densegen,ghost"]) == 2
    assert "ghost" in capsys.readouterr().err
    assert not (tmp_path / "demo").exists()
