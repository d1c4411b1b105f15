"""`usr-harness report merge RUN...` (one report from shard runs), `report durations RUN... --out FILE`
and `report quick FILE --under S` (the drills a durations file times under S seconds)."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from usr_harness.cli.harness.cycle import DEFAULT_REPORTS, new_run_dir
from usr_harness.errors import UsageError
from usr_harness.report.merge import MergeResult, load_shards, merge_runs


def point_latest(run_dir: Path) -> None:
    """`latest` beside `run_dir` points at it (swapped in one rename, as `new_run_dir` does)."""
    temp = run_dir.parent / f".latest-{os.getpid()}"
    temp.unlink(missing_ok=True)
    temp.symlink_to(run_dir.name)
    os.replace(temp, run_dir.parent / "latest")


def merge_command(
    runs: list[Path] = typer.Argument(
        ..., metavar="RUN...", help="Shard run folders (or their report.json)."
    ),
    out: Path = typer.Option(
        None, "--out", help="The merged run folder (new or empty; default: a new run under --report-dir)."
    ),
    report_dir: Path = typer.Option(DEFAULT_REPORTS, "--report-dir", help="Folder that holds run folders."),
    selection: Path = typer.Option(
        None,
        "--selection",
        help="A file of node ids, one a line: the whole selection, to name what no shard ran.",
    ),
) -> None:
    """One report (report.json, junit.xml, index.html, `latest`) from shard runs of one campaign.

    Shards that judged another engine, seed or scale are a usage error. Drills two shards ran, or
    that a shard was given but never finished, are named; the exit code is then 1.
    """
    expected = _read_selection(selection) if selection else None
    shards = load_shards(runs)
    if out is None:
        out = new_run_dir(report_dir, int(shards[0].settings["seed"]))
    else:
        if out.exists() and any(out.iterdir()):
            raise UsageError(f"{out} is not empty: merge into a new folder", paths=[str(out)])
        out.mkdir(parents=True, exist_ok=True)
    result = merge_runs(shards, out, expected)
    point_latest(out)
    raise typer.Exit(print_merge(result, out))


def print_merge(result: MergeResult, out: Path) -> int:
    """Each shard, the merged counts and every drill the merge names; 1 when any drill is unaccounted for."""
    for shard in result.provenance["shards"]:
        group = f" group {shard['group']}/{shard['splits']}" if shard["splits"] else ""
        typer.echo(f"{shard['name']}: run {shard['run_id']} on {shard['host'] or 'unknown host'}{group}")
    counts = result.report.summary
    typer.echo(
        f"merged {counts['total']} drills: "
        + ", ".join(f"{counts[v]} {v}" for v in counts if v != "total")
        + f" (engine {result.report.engine}, seed {result.report.seed}, scale {result.report.scale})"
    )
    findings = result.findings
    for nodeid, runs in sorted(findings.duplicates.items()):
        typer.echo(f"RUN TWICE {nodeid}: " + ", ".join(f"{r['shard']} {r['verdict']}" for r in runs))
    for nodeid, why in sorted(findings.missing.items()):
        typer.echo(f"MISSING {nodeid}: {why}")
    for group in findings.missing_shards:
        typer.echo(f"MISSING SHARD {group}")
    typer.echo(f"report folder {out}")
    return 0 if findings.clean else 1


def durations_command(
    runs: list[Path] = typer.Argument(..., metavar="RUN...", help="Run folders (or report.json) to time."),
    out: Path = typer.Option(..., "--out", help="The durations file to refresh (pytest-split's format)."),
) -> None:
    """Refresh pytest-split's durations file: drills the runs timed take the new time, others keep theirs."""
    from usr_harness.report.durations import (
        durations_of,
        load_durations,
        refreshed_durations,
        write_durations,
    )
    from usr_harness.report.model import load_report

    new = durations_of(load_report(run) for run in runs)
    old = load_durations(out)
    write_durations(out, refreshed_durations(old, new))
    typer.echo(f"{out}: {len(new)} drills timed, {len(set(old) - set(new))} kept from before")


def quick_command(
    durations: Path = typer.Argument(..., metavar="FILE", help="A durations file (pytest-split's format)."),
    under: float = typer.Option(..., "--under", help="Seconds: list the drills timed under this."),
) -> None:
    """Print the node ids the file times under --under seconds, one a line (a selection for CI)."""
    from usr_harness.report.durations import load_durations, quick_drills

    if not durations.exists():
        raise UsageError(f"no durations file at {durations}", paths=[str(durations)])
    for nodeid in quick_drills(load_durations(durations), under):
        typer.echo(nodeid)


def _read_selection(path: Path) -> list[str]:
    try:
        return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except OSError as error:
        raise UsageError(f"cannot read selection {path}: {error.strerror}", paths=[str(path)]) from None


def register(report_app: typer.Typer) -> None:
    """Add `merge`, `durations` and `quick` to `usr-harness report`."""
    report_app.command("merge")(merge_command)
    report_app.command("durations")(durations_command)
    report_app.command("quick")(quick_command)
