"""`usr-harness campaign`: the drill suite (or a selection) against one engine across N shards, or a soak."""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path

import typer

from usr_harness.campaign.plan import CampaignSpec, ci_commands
from usr_harness.campaign.soak import CycleOutcome
from usr_harness.cli.harness.cycle import DEFAULT_REPORTS, new_run_dir
from usr_harness.cli.harness.merge import print_merge
from usr_harness.errors import UsageError
from usr_harness.hosts.debian_image import DEFAULT_SUITE, SUITES
from usr_harness.pytest_plugin import REMOTE_PROVIDERS, remote_option_args

SOAK_FILE = "soak.json"
# Enums so the framework lists the choices in --help and refuses another before any shard starts.
RemoteProvider = Enum("RemoteProvider", {name: name for name in REMOTE_PROVIDERS}, type=str)
ContainerSuite = Enum("ContainerSuite", {name: name for name in SUITES}, type=str)


def campaign(
    shards: int = typer.Option(..., "--shards", help="How many shards (pytest processes) split the drills."),
    engine_cmd: str = typer.Option(
        None, "--engine-cmd", help="A usr-compatible command line (default: bundled)."
    ),
    engine_profile: str = typer.Option(
        None, "--engine-profile", help="bundled, usr-cli, upstream, or a .toml/.yaml profile."
    ),
    remote_provider: RemoteProvider = typer.Option(
        "loopback", "--remote-provider", help="Where the remote comes from (each shard starts its own)."
    ),
    remote_profile: str = typer.Option(
        None, "--remote-profile", help="The profile --remote-provider profile drills (USR_REMOTES_PATH)."
    ),
    container_suite: ContainerSuite = typer.Option(
        DEFAULT_SUITE, "--container-suite", help="Debian suite of --remote-provider container's host."
    ),
    drills: str = typer.Option(None, "--drills", help="pytest -k expression selecting drills."),
    seed: int = typer.Option(1729, "--seed", help="Seed of the drills (a soak's first cycle)."),
    scale: str = typer.Option("small", "--scale", help="small | medium | large"),
    cycles: int = typer.Option(1, "--cycles", help="Soak: this many seeded cycles (seed, seed+1, ...)."),
    golden: Path = typer.Option(
        None, "--golden", help="Soak: expected verdicts (a golden file); without it, a fail is an alarm."
    ),
    durations: Path = typer.Option(
        None, "--durations", help="pytest-split durations file (default fixtures/drill-durations.json)."
    ),
    report_dir: Path = typer.Option(DEFAULT_REPORTS, "--report-dir", help="Folder that holds run folders."),
    print_commands: bool = typer.Option(
        False, "--print-commands", help="Print the per-shard command lines (for CI) instead of running."
    ),
) -> None:
    """Shards run side by side (each its own pytest and sshd), then merge into one report.

    With --cycles N, a soak: N seeded cycles of the selection, --shards at a time, each its own
    report; a fail (with --golden: any verdict off the golden one) is a false alarm, listed in
    soak.json and at the terminal.
    """
    if golden is not None and cycles == 1:
        raise UsageError("--golden sets a soak's expected verdicts: it needs --cycles 2 or more")
    if (remote_provider.value == "profile") != (remote_profile is not None):
        raise UsageError("--remote-profile NAME goes with --remote-provider profile, and only with it")
    try:
        spec = CampaignSpec(
            shards=shards,
            seed=seed,
            engine_cmd=engine_cmd,
            engine_profile=engine_profile,
            drills_expr=drills,
            scale=scale,
            cycles=cycles,
            durations_path=durations,
            remote_options=remote_option_args(
                remote_provider.value, profile=remote_profile, suite=container_suite.value
            ),
        )
    except ValueError as error:
        raise UsageError(str(error)) from None
    if print_commands:
        for line in ci_commands(spec):
            typer.echo(line)
        return
    if cycles > 1:
        raise typer.Exit(_soak(spec, report_dir, golden))
    from usr_harness.campaign.run import run_campaign

    run_dir = new_run_dir(report_dir, seed)
    result = run_campaign(spec, run_dir, _say)
    code = print_merge(result.merge, run_dir)
    for run in result.runs:
        typer.echo(f"{run.folder.name}: pytest exit {run.exit_code}, {run.wall_seconds:.1f} s")
    typer.echo(f"campaign: {shards} shard(s), {result.wall_seconds:.1f} s wall")
    failed = result.merge.report.summary["fail"]
    raise typer.Exit(1 if failed or code else 0)


def _soak(spec: CampaignSpec, report_dir: Path, golden: Path | None) -> int:
    from usr_harness.campaign.run import run_soak

    expected = golden_verdicts(golden)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    soak_dir = report_dir / f"soak-{stamp}-seed{spec.seed}x{spec.cycles}"
    soak_dir.mkdir(parents=True)
    started = time.monotonic()
    outcomes = run_soak(spec, soak_dir, _say)
    return judge_soak(outcomes, expected, spec.shards, time.monotonic() - started, soak_dir / SOAK_FILE)


def golden_verdicts(golden: Path | None) -> dict[str, str] | None:
    """The verdict each drill should get, from a golden file; None: the bundled engine's default."""
    if golden is None:
        return None
    from usr_harness.report.golden import load_golden

    return {nodeid: item.verdict for nodeid, item in load_golden(golden).drills.items()}


def judge_soak(
    outcomes: list[CycleOutcome],
    expected: dict[str, str] | None,
    lanes: int,
    wall: float,
    soak_file: Path | None,
) -> int:
    """Print every false alarm (with its reproduce line) and the totals; write soak.json; 1 on any alarm."""
    from usr_harness.campaign.soak import false_alarms, soak_summary

    alarms = false_alarms(outcomes, expected)
    summary = soak_summary(outcomes, alarms, lanes) | {"wall_seconds": round(wall, 3)}
    if soak_file is not None:
        soak_file.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    for alarm in alarms:
        typer.echo(
            f"FALSE ALARM seed {alarm.seed} {alarm.nodeid}: {alarm.verdict} (expected {alarm.expected})"
        )
        if alarm.why:
            typer.echo(f"    why: {alarm.why.strip().splitlines()[0][:300]}")
        if alarm.reproduce:
            typer.echo(f"    reproduce: {alarm.reproduce}")
    unjudged = sum(summary["unjudged"].values())
    typer.echo(
        f"soak: {summary['cycles']} cycles, {summary['drill_runs']} drill runs, "
        f"{summary['false_alarm_count']} false alarm(s), {unjudged} unjudged, {wall:.1f} s wall"
        + (f"; {soak_file}" if soak_file else "")
    )
    return 1 if alarms else 0


def soak_command(
    runs: list[Path] = typer.Argument(..., metavar="RUN...", help="The cycle run folders of a soak."),
    golden: Path = typer.Option(
        None, "--golden", help="Expected verdicts (a golden file); without it, a fail is an alarm."
    ),
    out: Path = typer.Option(None, "--out", help="Write the soak record (soak.json) here too."),
) -> None:
    """Judge a soak's cycles run elsewhere (CI): every false alarm, with its reproduce line; exit 1 on any."""
    from usr_harness.report.model import load_report

    outcomes = [CycleOutcome(report.seed, report, 0, 0.0) for report in map(load_report, runs)]
    raise typer.Exit(judge_soak(outcomes, golden_verdicts(golden), 1, 0.0, out))


def _say(message: str) -> None:
    print(f"campaign: {message}", file=sys.stderr, flush=True)


def register(app: typer.Typer, report_app: typer.Typer) -> None:
    """Add `campaign` to the `usr-harness` app and `soak` to its `report` group."""
    app.command("campaign")(campaign)
    report_app.command("soak")(soak_command)
