"""`usr-harness cycle`: the maintainer's one command before and after a change."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path

import typer

from usr_harness.cycle.scales import SCALES

DEFAULT_REPORTS = Path("reports")
# An Enum so the framework lists the choices in --help and refuses another before any work starts.
Scale = Enum("Scale", {name: name for name in SCALES}, type=str)


def new_run_dir(reports: Path, seed: int) -> Path:
    """`reports/<run-id>/`, with `reports/latest` pointing at it."""
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ") + f"-seed{seed}"
    run_dir = reports / run_id
    run_dir.mkdir(parents=True)
    latest = reports / "latest"
    temp = reports / f".latest-{os.getpid()}"
    temp.unlink(missing_ok=True)
    temp.symlink_to(run_id)
    os.replace(temp, latest)
    return run_dir


def cycle(
    engine_cmd: str = typer.Option(
        None, "--engine-cmd", help="A usr-compatible command line (default: bundled)."
    ),
    engine_profile: str = typer.Option(
        None,
        "--engine-profile",
        help="How to drive and read the engine: bundled, usr-cli, upstream, or a .toml/.yaml profile.",
    ),
    seed: int = typer.Option(1729, "--seed", help="Seed of every generator in the cycle and its drills."),
    drills: str = typer.Option(None, "--drills", help="pytest -k expression selecting drills."),
    scale: Scale = typer.Option("small", "--scale", help="Size of the generated data."),
    report_dir: Path = typer.Option(DEFAULT_REPORTS, "--report-dir", help="Folder that holds run folders."),
    workers: int = typer.Option(0, "-n", "--workers", help="pytest-xdist workers for the drills (0: none)."),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="No step lines while the cycle runs."),
) -> None:
    """preflight (versions, host, doctor, registry) -> run (drills) -> verify (round trip, fingerprints)."""
    from usr_harness.cycle.runner import CycleConfig, run_cycle
    from usr_harness.report.model import REPORT_FILE, load_report

    run_dir = new_run_dir(report_dir, seed)
    config = CycleConfig(
        run_dir=run_dir,
        seed=seed,
        engine_cmd=engine_cmd,
        engine_profile=engine_profile,
        drills_expr=drills,
        scale=scale.value,
        workers=workers,
        progress=(lambda _m: None) if quiet else _say,
    )
    result = run_cycle(config)
    for step in result["steps"]:
        typer.echo(
            f"{step['status']:>7}  {step['name']:<32} {step['duration_seconds']:>7.1f} s  {step['detail']}"
        )
    state = "interrupted" if result.get("interrupted") else result["status"]
    typer.echo(f"cycle {state}; report folder {run_dir}")
    if (run_dir / REPORT_FILE).is_file():
        typer.echo(load_report(run_dir).headline)
    raise typer.Exit(result["exit_code"])


def _say(message: str) -> None:
    """One step line on stderr, flushed at once: CI logs show the cycle as it runs, not at its end."""
    print(f"cycle: {message}", file=sys.stderr, flush=True)


def register(app: typer.Typer) -> None:
    """Add `cycle` to the `usr-harness` app."""
    app.command("cycle")(cycle)
