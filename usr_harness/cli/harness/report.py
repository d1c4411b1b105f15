"""`usr-harness report show|compare` read runs at the terminal; `usr-harness replay REPORT` runs one again."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from usr_harness.cli.harness.cycle import DEFAULT_REPORTS, new_run_dir
from usr_harness.errors import UsageError
from usr_harness.report.compare import (
    ABSENT,
    compare_verdicts,
    comparison_json,
    messages,
    movement_summary,
    verdicts,
)
from usr_harness.report.golden import check_run, load_golden, refreshed
from usr_harness.report.model import PAGE_FILE, DrillEntry, Report, load_report
from usr_harness.report.verdicts import VERDICTS

STYLES = {"pass": "green", "fail": "bold red", "unsupported": "cyan", "unknown": "yellow", "absent": "dim"}
OUTCOME_STYLES = {"passed": "bold green", "failed": "bold red", "errored": "bold yellow"}
STEP_STYLES = {"passed": "green", "failed": "bold red", "skipped": "yellow"}

report_app = typer.Typer(
    name="report",
    help="Read run reports at the terminal: show [RUN], compare A B, check RUN --golden FILE.",
    no_args_is_help=True,
)


def resolve_run(run: str | None, reports: Path) -> Path:
    """RUN is a report.json, a run folder, or a run id under `reports` (default: `reports/latest`)."""
    if run is None:
        return reports / "latest"
    given = Path(run)
    return given if given.exists() else reports / run


@report_app.command("show")
def show(
    run: str = typer.Argument(None, help="report.json, run folder or run id (default: latest)."),
    report_dir: Path = typer.Option(DEFAULT_REPORTS, "--report-dir", help="Folder that holds run folders."),
    all_drills: bool = typer.Option(
        False, "--all", help="Also list the drills that passed or are unsupported."
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print the report as JSON (outcome and headline first)."
    ),
) -> None:
    """The verdict line first, then the failures, the expected blind spots, the run's settings and steps."""
    path = resolve_run(run, report_dir)
    report = load_report(path)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
        return
    console = Console(highlight=False, soft_wrap=True)
    console.print(f"[{OUTCOME_STYLES[report.outcome]}]{escape(report.headline)}[/]")
    failures = sorted(
        (d for d in report.drills if d.verdict in ("fail", "unknown")),
        key=lambda d: (d.verdict != "fail", d.engine, d.nodeid),
    )
    if failures:
        console.print(f"[bold]Failures ({len(failures)})[/] (verdict, engine, time, drill; why; reproduce)")
        for drill in failures:
            _print_drill(console, drill)
    blind = [d for d in report.drills if d.blind_spots]
    if blind:
        console.print(
            f"[bold]Expected blind spots ({report.blind_spots})[/] (counted apart: the catalogue lets "
            "these profiles miss the change)"
        )
        for drill in blind:
            console.print(f"  {escape(drill.nodeid)}: {escape(', '.join(drill.blind_spots))}")
    _print_header(console, report)
    if report.steps:
        _print_steps(console, report.steps)
    rest = [d for d in report.drills if d.verdict in ("pass", "unsupported")]
    if all_drills and rest:
        console.print("[bold]Other drills[/] (verdict, engine, time, drill)")
        for drill in sorted(rest, key=lambda d: (d.verdict, d.engine, d.nodeid)):
            _print_drill(console, drill)
    elif rest:
        counts = ", ".join(f"{report.summary[v]} {v}" for v in ("pass", "unsupported") if report.summary[v])
        console.print(f"{counts} not listed (--all lists them)")
    folder = path if path.is_dir() else path.parent
    console.print(f"page: {escape(str(folder / PAGE_FILE))}")


def _print_drill(console: Console, drill: DrillEntry) -> None:
    console.print(
        f"[{STYLES[drill.verdict]}]{drill.verdict:<12}[/]{escape(drill.engine):<10}"
        f"{drill.duration_seconds:>7.2f} s  {escape(drill.nodeid)}"
    )
    if drill.verdict != "pass":
        console.print(f"    why: {escape(drill.message)}")
    if drill.reproduce and drill.verdict in ("fail", "unknown"):
        console.print(f"    reproduce: {escape(drill.reproduce)}")


@report_app.command("compare")
def compare(
    left: str = typer.Argument(..., metavar="A", help="report.json, run folder or run id."),
    right: str = typer.Argument(..., metavar="B", help="report.json, run folder or run id."),
    report_dir: Path = typer.Option(DEFAULT_REPORTS, "--report-dir", help="Folder that holds run folders."),
    all_drills: bool = typer.Option(
        False, "--all", help="List every drill, also those that kept their verdict or only one side ran."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the comparison as JSON."),
) -> None:
    """Drill by drill, A's verdict beside B's and why each moved; exit 1 when any moved."""
    first = load_report(resolve_run(left, report_dir))
    second = load_report(resolve_run(right, report_dir))
    rows = compare_verdicts(verdicts(first), verdicts(second))
    both = [row for row in rows if ABSENT not in (row.left, row.right)]
    shown = rows if all_drills else [row for row in both if row.moved]
    summary = movement_summary(both)
    why = (messages(first), messages(second))
    if as_json:
        typer.echo(json.dumps(comparison_json(first, second, rows, shown), indent=2))
        raise typer.Exit(1 if summary["moved"] else 0)
    console = Console(highlight=False, soft_wrap=True)
    for name, side in (("A", first), ("B", second)):
        console.print(
            f"{name}: {escape(side.engine)} ({escape(side.run_id)}): "
            f"[{OUTCOME_STYLES[side.outcome]}]{escape(side.headline)}[/]"
        )
    console.print("[bold]A        B        drill[/]")
    for row in shown:
        console.print(
            f"[{STYLES[row.left]}]{row.left:<9}[/][{STYLES[row.right]}]{row.right:<9}[/]{escape(row.nodeid)}"
        )
        if row.moved:
            for name, side_why in zip(("A", "B"), why, strict=True):
                if row.nodeid in side_why:
                    console.print(f"    {name}: {escape(side_why[row.nodeid])}")
    for name, engine_report in (("A", first), ("B", second)):
        for engine, counts in engine_report.by_engine.items():
            console.print(
                f"{name} {escape(engine)}: " + ", ".join(f"[{STYLES[v]}]{counts[v]} {v}[/]" for v in VERDICTS)
            )
    console.print(
        f"{len(both)} drills ran on both sides: " + ", ".join(f"{k} {v}" for k, v in summary.items())
    )
    if len(both) < len(rows):
        console.print(f"{len(rows) - len(both)} drills ran on one side only (--all lists them)")
    raise typer.Exit(1 if summary["moved"] else 0)


@report_app.command("check")
def check(
    run: str = typer.Argument(None, help="report.json, run folder or run id (default: latest)."),
    golden_path: Path = typer.Option(..., "--golden", help="The golden verdict file to hold the run to."),
    report_dir: Path = typer.Option(DEFAULT_REPORTS, "--report-dir", help="Folder that holds run folders."),
) -> None:
    """Hold a run to a golden verdict file; exit 1 naming every drill whose verdict moved."""
    golden = load_golden(golden_path)
    report = load_report(resolve_run(run, report_dir))
    moved = check_run(golden, report)
    console = Console(highlight=False, soft_wrap=True)
    for row in moved:
        expected = golden.drills.get(row.nodeid)
        why = f" (golden: {expected.judged}, {expected.why})" if expected else " (not in the golden file)"
        console.print(f"MOVED {escape(row.nodeid)}: {row.left} -> {row.right}{escape(why)}")
    console.print(
        f"{len(report.drills) - len(moved)} of {len(report.drills)} drills hold the verdicts of "
        f"{escape(golden.engine)} {escape(golden.engine_version)} ({escape(str(golden_path))})"
    )
    raise typer.Exit(1 if moved else 0)


@report_app.command("golden")
def golden_command(
    run: str = typer.Argument(None, help="report.json, run folder or run id (default: latest)."),
    out: Path = typer.Option(..., "--out", help="The golden file to write (kept judgements are reused)."),
    engine_version: str = typer.Option(..., "--engine-version", help="Which engine build the run judged."),
    report_dir: Path = typer.Option(DEFAULT_REPORTS, "--report-dir", help="Folder that holds run folders."),
) -> None:
    """Write a golden verdict file from a run; new fails are marked REVIEW for a person to judge."""
    report = load_report(resolve_run(run, report_dir))
    golden = refreshed(load_golden(out) if out.exists() else None, report, engine_version)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(golden.as_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    review = sum(item.why.startswith("REVIEW:") for item in golden.drills.values())
    typer.echo(f"{out}: {len(golden.drills)} drills; {review} to review")


def replay_command(
    report_path: Path = typer.Argument(..., metavar="REPORT", help="A run's report.json (or its folder)."),
    report_dir: Path = typer.Option(
        None, "--report-dir", help="Where the replay's run folder goes (default: beside REPORT's run)."
    ),
    workers: int = typer.Option(
        0, "-n", "--workers", min=0, help="pytest-xdist workers for the drills (0: none), as cycle -n."
    ),
) -> None:
    """Run the report's drills again (same nodeids, seed, engine, scale, remote); exit 0 when all match."""
    from usr_harness.report.replay import replay

    report = load_report(report_path)
    if not report.drills:
        raise UsageError(f"{report_path} lists no drills to replay", paths=[str(report_path)])
    run_folder = report_path if report_path.is_dir() else report_path.parent
    run_dir = new_run_dir(report_dir or run_folder.parent, report.seed)
    typer.echo(
        f"replaying {len(report.drills)} drills of {report.run_id} (seed {report.seed}, "
        f"engine {report.engine}, scale {report.scale}, remote {remote_of(report)}) into {run_dir}",
        err=True,
    )
    _, comparisons = replay(report, run_dir, workers)
    for comparison in comparisons:
        mark = "same" if comparison.matches else "DIFFERS"
        typer.echo(f"{mark:<8}{comparison.nodeid}: {comparison.describe()}")
    matched = sum(comparison.matches for comparison in comparisons)
    typer.echo(f"replay: {matched} of {len(comparisons)} drills match (verdict and fingerprints); {run_dir}")
    raise typer.Exit(0 if matched == len(comparisons) else 1)


def remote_of(report: Report) -> str:
    """The remote options a run chose, or the default loopback host."""
    return " ".join(report.remote_options) or "loopback"


def register(app: typer.Typer) -> None:
    """Add `report show|compare` and `replay` to the `usr-harness` app."""
    app.add_typer(report_app, name="report")
    app.command("replay")(replay_command)


def _print_header(console: Console, report: Report) -> None:
    origin = f" (replay of {report.replay_of})" if report.replay_of else ""
    console.print(f"[bold]run {escape(report.run_id)}[/]{escape(origin)}")
    facts = [
        ("seed", str(report.seed)),
        ("engine", report.engine),
        ("scale", report.scale),
        ("remote", remote_of(report)),
        ("commit", report.git_commit or "unknown"),
        ("written", report.created_at),
        ("versions", ", ".join(f"{name} {value}" for name, value in report.versions.items())),
    ]
    for name, value in facts:
        console.print(f"  {name:<9}{escape(value)}")
    failures = report.failures
    console.print(
        f"  failures: {failures['runbook']} runbook violations, {failures['hardening']} hardening gaps; "
        f"{report.drove_engine} drills drove an engine command"
    )
    for engine, engine_counts in report.by_engine.items():
        line = ", ".join(f"{engine_counts[v]} {v}" for v in VERDICTS)
        console.print(f"  {escape(engine)}: {line}")


def _print_steps(console: Console, steps: dict) -> None:
    """One line per step (status, time, name, detail), never a table that cuts names to the terminal."""
    style = STEP_STYLES.get(steps.get("status", ""), "yellow")
    console.print("[bold]Cycle steps[/] (status, time, step: detail)")
    for step in steps.get("steps", []):
        status = step["status"]
        console.print(
            f"[{STEP_STYLES.get(status, 'yellow')}]{status:<8}[/]{step['duration_seconds']:>7.1f} s  "
            f"{escape(step['name'])}: {escape(str(step.get('detail', '')))}",
            soft_wrap=True,
        )
    console.print(f"cycle [{style}]{steps.get('status')}[/] (exit {steps.get('exit_code')})")
