"""`usr-harness flaws`: run the drills against single-flaw variants of the bundled engine."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from usr_harness.cli.harness.cycle import DEFAULT_REPORTS, new_run_dir

DEFAULT_CATALOGUE = Path("fixtures/flaws")


def flaws(
    flaw: list[str] = typer.Option(None, "--flaw", help="Run only this flaw (repeat for more)."),
    drills: str = typer.Option(None, "--drills", help="pytest -k expression over all of drills/ instead."),
    all_drills: bool = typer.Option(False, "--all-drills", help="Every drill, not the declared ones."),
    catalogue: Path = typer.Option(DEFAULT_CATALOGUE, "--catalogue", help="Folder of NAME.patch files."),
    report_dir: Path = typer.Option(DEFAULT_REPORTS, "--report-dir", help="Folder that holds run folders."),
    workers: int = typer.Option(1, "-j", "--jobs", help="Flaws run at once."),
    seed: int = typer.Option(None, "--seed", help="--drill-seed for every drill run."),
    timeout: float = typer.Option(900.0, "--timeout", help="Seconds one flaw's drills may take."),
) -> None:
    """Apply each flaw patch to a throwaway copy of the package, run its drills against that copy,
    and write the kill matrix (kill-matrix.json, kill-matrix.html); exit 1 on any survivor."""
    from usr_harness.flaws.catalogue import load_catalogue
    from usr_harness.flaws.runner import FlawRunConfig, run_catalogue
    from usr_harness.pytest_plugin import DEFAULT_SEED
    from usr_harness.report.kill_matrix import kill_matrix_html

    chosen = load_catalogue(catalogue, flaw)
    run_dir = new_run_dir(report_dir, DEFAULT_SEED if seed is None else seed)
    config = FlawRunConfig(
        root=Path.cwd(),
        run_dir=run_dir,
        drills=drills,
        all_drills=all_drills,
        timeout=timeout,
        seed=seed,
        workers=workers,
    )
    matrix = run_catalogue(
        chosen,
        config,
        lambda r: typer.echo(f"flaws: {r.name}: {r.status} {r.caught_by or r.reason or ''}", err=True),
    )
    data = matrix.as_dict()
    (run_dir / "kill-matrix.json").write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", "utf-8")
    (run_dir / "kill-matrix.html").write_text(kill_matrix_html(data), encoding="utf-8")
    typer.echo(matrix.table())
    for result in matrix.failing:
        typer.echo(f"{result.status}: {result.name}: {result.summary} ({result.reason})")
    typer.echo(f"kill matrix in {run_dir}")
    raise typer.Exit(matrix.exit_code)


def register(app: typer.Typer) -> None:
    """Add `flaws` to the `usr-harness` app."""
    app.command("flaws")(flaws)
