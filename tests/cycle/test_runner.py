"""The cycle against a real loopback sshd: a lying engine fails its verify steps, Ctrl-C stops it."""

from __future__ import annotations

import json
import sys
import textwrap
from contextlib import ExitStack
from pathlib import Path

import pytest

from usr_harness.cycle.context import CycleContext
from usr_harness.cycle.runner import CycleConfig, Step, cycle_steps, run_cycle, run_steps
from usr_harness.cycle.steps import StepFailed, StepReport

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


def _context(tmp_path: Path) -> CycleContext:
    return CycleContext(CycleConfig(run_dir=tmp_path), ExitStack())


def _fail(_context: CycleContext) -> str:
    raise StepFailed("host refused", exit_code=4)


def test_steps_that_need_a_failed_step_are_left_out_and_a_skip_is_recorded(tmp_path: Path) -> None:
    ran: list[str] = []
    steps = [
        Step("up", "up", _fail),
        Step("needs-up", "x", lambda _c: ran.append("needs-up") or "ran", requires="up"),
        Step("free", "y", lambda _c: ran.append("free") or "ran"),
        Step("optional", "z --full", lambda _c: "ran", skip_reason=lambda _r: "not asked", skip_command="z"),
    ]
    report = StepReport()
    run_steps(steps, _context(tmp_path), report)
    result = report.finish()
    assert ran == ["free"]
    assert [(s["name"], s["status"], s["command"]) for s in result["steps"]] == [
        ("up", "failed", "up"),
        ("free", "passed", "y"),
        ("optional", "skipped", "z"),
    ]
    assert result["exit_code"] == 4 and result["steps"][2]["detail"] == "not asked"


def test_the_cycle_runs_its_steps_in_runbook_order(tmp_path: Path) -> None:
    steps = cycle_steps(CycleConfig(run_dir=tmp_path, engine_cmd="usr-x"))
    assert [step.name for step in steps] == [
        "preflight:tool-versions",
        "preflight:host-up",
        "preflight:engine-help",
        "preflight:doctor",
        "preflight:seed-remote",
        "preflight:registry-validate",
        "run:drills",
        "verify:pull",
        "verify:local-work",
        "verify:push",
        "verify:final-diff",
        "verify:fingerprints",
        "verify:sync-audit-drill",
    ]
    needs_host = [step.name for step in steps if step.requires == "preflight:host-up"]
    assert "run:drills" not in needs_host and "preflight:doctor" in needs_host
    assert steps[3].command == "usr-x remotes doctor hpc"
