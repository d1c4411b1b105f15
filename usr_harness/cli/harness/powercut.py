"""`usr-harness powercut`: a power-loss campaign on one's own dataset, in a scratch copy (never the data)."""

from __future__ import annotations

import sys
import tempfile
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from enum import Enum, StrEnum
from pathlib import Path

import typer

from usr_harness.powercut.model import Policy
from usr_harness.powercut.sweep import CutRange

DEFAULT_REPORTS = Path("reports")


class Direction(StrEnum):
    pull = "pull"
    push = "push"


PolicyChoice = Enum("PolicyChoice", {str(policy): str(policy) for policy in Policy}, type=str)


def _line(index: int, total: int, cut: CutRange) -> None:
    """Off a terminal: one line per cut range, flushed, so a log shows the campaign as it runs."""
    verdict = "pass" if cut.problem is None else f"FAIL {cut.problem}"
    points = f"{cut.first_k}" if cut.points == 1 else f"{cut.first_k}..{cut.last_k}"
    print(f"powercut: [{index}/{total}] cut after op {points}: {verdict}", file=sys.stderr, flush=True)


class _Bar:
    """On a terminal: a rich progress bar over the cut states, failures printed above it."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            TextColumn("cut states"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.description}"),
            console=Console(stderr=True),
        )
        self.task = self.progress.add_task("", total=None)

    def __call__(self, index: int, total: int, cut: CutRange) -> None:
        points = f"{cut.first_k}" if cut.points == 1 else f"{cut.first_k}..{cut.last_k}"
        if cut.problem is not None:
            self.progress.console.print(f"[red]FAIL[/red] cut after op {points}: {cut.problem}")
        self.progress.update(self.task, total=total, completed=index, description=f"op {points}")


def powercut(
    root: Path = typer.Option(..., "--root", help="Your datasets root (only read: a copy is cut)."),
    dataset: str = typer.Option(..., "--dataset", help="The dataset's id under --root."),
    remote: str = typer.Option(..., "--remote", help="The remote's name in the remotes config."),
    remotes_config: Path = typer.Option(
        None, "--remotes-config", help="remotes.yaml (default: the engine's)."
    ),
    direction: Direction = typer.Option(Direction.pull, "--direction", help="Which sync to cut."),
    policy: PolicyChoice = typer.Option("strict", "--policy", help="What a power cut keeps."),
    sample: int = typer.Option(
        None, "--sample", min=2, help="Check a seeded sample of N cut states (default all)."
    ),
    seed: int = typer.Option(1729, "--seed", help="Seed of the sample."),
    report_dir: Path = typer.Option(
        None, "--report-dir", help="Report folder (default reports/powercut-<time>)."
    ),
    scratch: Path = typer.Option(None, "--scratch", help="Empty scratch folder (default a temporary one)."),
    engine_cmd: str = typer.Option(
        None, "--engine-cmd", help="A usr-compatible command line (default: bundled)."
    ),
    engine_profile: str = typer.Option(
        None, "--engine-profile", help="bundled, usr-cli, upstream or a profile."
    ),
) -> None:
    """Record one pull or push of your dataset on the power-cut layer and check every state a cut leaves."""
    from usr_harness.powercut import FuseUnavailable
    from usr_harness.powercut.campaign import CampaignConfig, CampaignError, run_campaign

    started = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    report_dir = report_dir or DEFAULT_REPORTS / f"powercut-{started}"
    held: AbstractContextManager = (
        nullcontext(str(scratch)) if scratch else tempfile.TemporaryDirectory(prefix="usr-powercut-")
    )
    with held as folder:
        config = CampaignConfig(
            root=root.resolve(),
            dataset=dataset,
            remote=remote,
            direction=direction.value,
            policy=Policy(policy.value),
            scratch=Path(folder).resolve(),
            report_dir=report_dir.resolve(),
            remotes_config=remotes_config,
            sample=sample,
            seed=seed,
            engine_cmd=engine_cmd,
            engine_profile=engine_profile,
        )
        bar = _Bar() if sys.stderr.isatty() else None
        try:
            if bar is None:
                report = run_campaign(config, _line)
            else:
                with bar.progress:
                    report = run_campaign(config, bar)
        except FuseUnavailable as error:
            typer.echo(f"usr-harness: error: {error}", err=True)
            raise typer.Exit(3) from None
        except CampaignError as error:
            typer.echo(f"usr-harness: error: {error}", err=True)
            raise typer.Exit(2) from None
    typer.echo(
        f"power loss during {report['direction']} of {report['dataset']} ({report['policy']}): "
        f"{report['states_checked']} states, {report['cut_points_checked']} of {report['cut_points']} "
        f"cut points, {report['violations']} violations; report folder {report_dir}"
    )
    raise typer.Exit(1 if report["violations"] else 0)


def register(app: typer.Typer) -> None:
    """Add `powercut` to the `usr-harness` app."""
    app.command("powercut")(powercut)
