"""`usr-harness flaws`: a bad catalogue or flaw name is a usage error before any variant is built."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_runs import run_harness


def test_an_unknown_flaw_is_a_usage_error(capsys: pytest.CaptureFixture[str], tmp_path: Path):
    (tmp_path / "one.patch").write_text("# flaw: a | area: plan | drills: drills/test_locks.py\n")
    argv = ("flaws", "--catalogue", str(tmp_path), "--flaw", "two", "--report-dir", str(tmp_path / "r"))
    code, _, err = run_harness(capsys, *argv)
    assert code == 2 and "unknown flaw(s): two" in err
    assert not (tmp_path / "r").exists()


def test_a_missing_catalogue_is_a_usage_error(capsys: pytest.CaptureFixture[str], tmp_path: Path):
    code, _, err = run_harness(capsys, "flaws", "--catalogue", str(tmp_path / "none"))
    assert code == 2 and "no flaw catalogue" in err
