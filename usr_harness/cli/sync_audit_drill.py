"""`usr-sync-audit-drill`: the sync audit drill alone, over real SSH, with a JSON report."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import typer

from usr_harness.cli.runner import run_app

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)


@app.command()
def drill(
    report_json: Path = typer.Option(..., "--report-json", help="Write the drill report here."),
    work_dir: Path = typer.Option(None, "--work-dir", help="Keep datasets, audits and the sshd here."),
    dataset_id: str = typer.Option("demo", "--dataset-id", help="Dataset id used on both sides."),
    engine_cmd: str = typer.Option(None, "--engine-cmd", help="A usr-compatible command line."),
    engine_profile: str = typer.Option(
        None, "--engine-profile", help="bundled, usr-cli, upstream, or a file."
    ),
    seed: int = typer.Option(1729, "--seed", help="Seed of the mock HPC batch."),
) -> None:
    """diff -> pull -> local overlay + _artifacts + _registry note -> diff -> push -> diff."""
    from usr_harness.cycle.sync_audit import run_sync_audit_drill

    with tempfile.TemporaryDirectory(prefix="usr-sync-audit-") as scratch:
        folder = work_dir or Path(scratch)
        report = run_sync_audit_drill(
            folder, dataset_id=dataset_id, engine_cmd=engine_cmd, engine_profile=engine_profile, seed=seed
        )
    report_json.parent.mkdir(parents=True, exist_ok=True)
    report_json.write_text(json.dumps(report, indent=2) + "\n")
    typer.echo(f"final_up_to_date={str(report['final_up_to_date']).lower()} report={report_json}")
    raise typer.Exit(0 if report["final_up_to_date"] else 1)


def main(argv: list[str] | None = None) -> int:
    code = run_app(app, "usr-sync-audit-drill", argv)
    if argv is None:
        sys.exit(code)
    return code
