"""The drills judge an engine by its evidence: one that exits 0 and moves nothing fails as a lie."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIAR = ROOT / "tests" / "lying_engine.py"

pytestmark = pytest.mark.ssh


def test_a_drill_fails_a_lying_engine_with_a_fidelity_reason(tmp_path: Path) -> None:
    drill = "drills/test_iterative_batches.py::test_iterative_rounds_end_byte_identical"
    args = [str(ROOT / drill), "-q", "-p", "no:cacheprovider", f"--rootdir={ROOT}", "-p", "no:xdist"]
    args += [f"--engine-cmd={sys.executable} {LIAR}", f"--drill-report-dir={tmp_path}"]
    # Its own process: in-process suites run earlier in this session leave their `drills` package behind.
    command = [sys.executable, "-m", "pytest", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == pytest.ExitCode.TESTS_FAILED, done.stdout[-2000:] + done.stderr[-2000:]
    (line,) = [json.loads(text) for text in (tmp_path / "drills.jsonl").read_text().splitlines()]
    assert line["verdict"] == "fail"
    failure = line["evidence"]["failure"]
    assert failure.startswith("[fidelity] pull exited 0 (TRANSFERRED) but left no demo/records.parquet")
    assert "FileNotFoundError" not in failure
