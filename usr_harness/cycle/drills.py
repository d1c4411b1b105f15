"""The cycle's run phase: the drill suite, run in-process by pytest with the cycle's settings."""

from __future__ import annotations

from pathlib import Path

from usr_harness.cycle.context import CycleConfig, CycleContext
from usr_harness.cycle.steps import StepFailed


def default_drills_path() -> Path:
    return Path(__file__).resolve().parents[2] / "drills"


def pytest_args(config: CycleConfig) -> list[str]:
    """`--name=value` forms throughout: pytest looks for its config file before plugin options exist."""
    drills = config.drills_path or default_drills_path()
    args = [str(drills), "-q", "-p", "no:cacheprovider", f"--rootdir={drills.parent}"]
    args += ["-W", "ignore::pytest.PytestAssertRewriteWarning", f"--drill-seed={config.seed}"]
    args += [f"--drill-report-dir={config.run_dir}", f"--junitxml={config.run_dir / 'junit.xml'}"]
    args += [f"--drill-scale={config.scale}"]
    if config.engine_cmd:
        args += [f"--drill-engine-cmd={config.engine_cmd}"]
    if config.engine_profile:
        args += [f"--drill-engine-profile={config.engine_profile}"]
    args += config.remote_options
    if config.drills_expr:
        args += ["-k", config.drills_expr]
    if config.workers:
        args += [f"--numprocesses={config.workers}"]
    return args


def run_drills(context: CycleContext) -> str:
    import pytest

    code = int(pytest.main(pytest_args(context.config)))
    if code == pytest.ExitCode.INTERRUPTED:
        raise KeyboardInterrupt  # pytest caught the Ctrl-C; the cycle must stop too
    if code != 0:
        raise StepFailed(f"pytest exited {code}", exit_code=code)
    return "drill suite passed"
