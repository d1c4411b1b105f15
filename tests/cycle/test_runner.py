"""The cycle against a real loopback sshd: a lying engine fails its verify steps, Ctrl-C stops it."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

from usr_harness.cycle.runner import CycleConfig, run_cycle

pytestmark = pytest.mark.ssh

LIAR = Path(__file__).resolve().parents[1] / "lying_engine.py"


def _drills(root: Path, name: str, body: str) -> Path:
    """A one-drill suite, so the cycle's own steps are what the test judges (`name`: its own module)."""
    (root / "drills").mkdir(parents=True)
    (root / f"drills/test_{name}.py").write_text(textwrap.dedent(body))
    (root / "pytest.ini").write_text("[pytest]\naddopts = --import-mode=importlib\n")
    return root / "drills"


def _steps(result: dict) -> dict[str, dict]:
    return {step["name"]: step for step in result["steps"]}


def test_a_lying_engine_fails_every_verify_step(tmp_path: Path) -> None:
    config = CycleConfig(
        run_dir=tmp_path / "run",
        engine_cmd=f"{sys.executable} {LIAR}",
        drills_path=_drills(tmp_path / "suite", "lied_to", "def test_nothing():\n    pass\n"),
    )
    result = run_cycle(config)
    steps = _steps(result)
    assert steps["preflight:doctor"]["status"] == steps["run:drills"]["status"] == "passed"
    for name in ("verify:pull", "verify:local-work", "verify:push", "verify:fingerprints"):
        assert steps[name]["status"] == "failed", steps[name]
        assert steps[name]["detail"].startswith("[fidelity]"), steps[name]
    assert "after pull the local dataset is missing" in steps["verify:pull"]["detail"]
    assert "Error" not in json.dumps(result), "a harness exception, not a fidelity verdict"
    assert result["status"] == "failed" and result["failed_step"] == "verify:pull"


def test_the_bundled_engine_passes_every_verify_step(tmp_path: Path) -> None:
    suite = _drills(tmp_path / "suite", "honest", "def test_nothing():\n    pass\n")
    result = run_cycle(CycleConfig(run_dir=tmp_path / "run", drills_path=suite))
    steps = _steps(result)
    assert result["status"] == "passed", [s for s in result["steps"] if s["status"] == "failed"]
    assert steps["verify:pull"]["detail"].startswith("TRANSFERRED; local tree equals remote")
    assert steps["verify:push"]["detail"].startswith("TRANSFERRED; remote tree equals local")


def test_ctrl_c_in_the_drills_stops_the_cycle(tmp_path: Path) -> None:
    suite = _drills(tmp_path / "suite", "stopped", "def test_stopped():\n    raise KeyboardInterrupt\n")
    result = run_cycle(CycleConfig(run_dir=tmp_path / "run", drills_path=suite))
    steps = _steps(result)
    assert steps["run:drills"]["exit_code"] == 130 and steps["run:drills"]["status"] == "failed"
    verify = [step for name, step in steps.items() if name.startswith("verify:")]
    assert verify and all(step["status"] == "skipped" for step in verify)
    assert result["exit_code"] == 130 and result["interrupted"] is True
    assert json.loads((tmp_path / "run/cycle-report.json").read_text())["interrupted"] is True
