"""`usr-harness adversarial list|apply`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.adversarial.conftest import DATASET
from usr_harness.adversarial.catalogue import CATALOGUE
from usr_harness.cli.harness.app import main


def test_list_prints_every_case_in_order(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["adversarial", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == [case.id for case in CATALOGUE]
    assert main(["adversarial", "list", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows[0]["id"] == CATALOGUE[0].id and "expected_token" in rows[0]


def test_apply_reports_a_pass(fresh_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["adversarial", "apply", "attach-key-duplicate", "--root", str(fresh_root), DATASET]) == 0
    out = capsys.readouterr().out
    assert "drew error[validation]" in out and "_derived unchanged" in out and "verdict: pass" in out


def test_apply_unknown_case_is_a_usage_error(fresh_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["adversarial", "apply", "no-such-case", "--root", str(fresh_root), DATASET]) == 2
    assert "unknown adversarial case" in capsys.readouterr().err


def test_apply_pull_case_without_engine_is_not_a_pass(
    fresh_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["adversarial", "apply", "pull-part-not-parquet", "--root", str(fresh_root), DATASET]) == 1
    assert "not run" in capsys.readouterr().out
