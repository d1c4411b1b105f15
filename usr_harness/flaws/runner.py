"""Run each flaw's drills against its variant and gather the kill matrix."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from usr_harness.flaws.catalogue import Flaw
from usr_harness.flaws.matrix import FlawResult, KillMatrix, broken, judge, read_drill_lines
from usr_harness.flaws.variant import VariantError, build_variant


@dataclass(frozen=True)
class FlawRunConfig:
    """`root`: the project (its drills/); `run_dir`: where each flaw's drill report goes."""

    root: Path
    run_dir: Path
    drills: str | None = None
    all_drills: bool = False
    timeout: float = 900.0
    python: str = sys.executable
    seed: int | None = None
    workers: int = 1


def selection(flaw: Flaw, config: FlawRunConfig) -> list[str]:
    """The pytest arguments choosing the drills: declared ones, all of drills/, or a -k expression."""
    if config.all_drills or config.drills:
        args = ["drills"]
        if config.drills:
            args += ["-k", config.drills]
        return args
    return [*flaw.drills, *(["-k", flaw.k] if flaw.k else [])]


def run_flaw(flaw: Flaw, config: FlawRunConfig) -> FlawResult:
    """Build the variant in a temporary folder, run its drills (stopping at the first failure)."""
    started = time.monotonic()
    report = config.run_dir / "flaws" / flaw.name
    with tempfile.TemporaryDirectory(prefix=f"usr-flaw-{flaw.name}-") as scratch:
        try:
            variant = build_variant(flaw.patch.resolve(), Path(scratch), config.python, config.root)
        except VariantError as error:
            return broken(flaw, str(error), time.monotonic() - started)
        argv = [
            config.python, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
            "--drill-engine-profile", str(variant.profile),
            "--drill-engine-cmd", variant.command,
            "--drill-report-dir", str(report),
            *(["--drill-seed", str(config.seed)] if config.seed is not None else []),
            *selection(flaw, config),
        ]  # fmt: skip
        try:
            done = subprocess.run(
                argv, cwd=config.root, capture_output=True, text=True, timeout=config.timeout
            )
        except subprocess.TimeoutExpired:
            return broken(flaw, f"the drills ran past {config.timeout:.0f} s", time.monotonic() - started)
        report.mkdir(parents=True, exist_ok=True)
        (report / "pytest.log").write_text(done.stdout + done.stderr, encoding="utf-8")
    jsonl = report / "drills.jsonl"
    lines = read_drill_lines(jsonl.read_text(encoding="utf-8")) if jsonl.exists() else []
    if done.returncode not in (0, 1) and not lines:
        tail = (done.stdout + done.stderr).strip().splitlines()[-1:] or ["no output"]
        return broken(flaw, f"pytest exited {done.returncode}: {tail[0]}", time.monotonic() - started)
    return judge(flaw, lines, time.monotonic() - started)


def run_catalogue(
    flaws: list[Flaw], config: FlawRunConfig, on_result: Callable[[FlawResult], None]
) -> KillMatrix:
    """Every flaw, `config.workers` at a time (each variant has its own copy, sshd and folders)."""
    with ThreadPoolExecutor(max_workers=max(1, config.workers)) as pool:
        results = []
        for result in pool.map(lambda flaw: run_flaw(flaw, config), flaws):
            on_result(result)
            results.append(result)
    return KillMatrix(results)
