"""`usr-harness mock`: grow a dataset by seeded HPC-like rounds (records, parts, events, snapshots)."""

from __future__ import annotations

from pathlib import Path

import typer

from usr_harness.mock.overlays import OVERLAYS
from usr_harness.mock.series import BatchSeries


def _parse_overlays(value: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in value.split(",") if name.strip())
    unknown = [name for name in names if name not in OVERLAYS]
    if not names or unknown:
        raise typer.BadParameter(f"choose from {', '.join(OVERLAYS)} (got {value!r})")
    return names


def mock(
    dataset: str = typer.Argument(..., help="Dataset id under the root (created by round 0 if missing)."),
    root: Path = typer.Option(..., "--root", help="Datasets root (holds registry.yaml)."),
    seed: int = typer.Option(0, "--seed", help="Same seed, same bytes."),
    records: int = typer.Option(1000, "--records", min=1, help="New records per round."),
    rounds: int = typer.Option(1, "--rounds", min=1, help="How many rounds to run."),
    first_round: int = typer.Option(0, "--first-round", min=0, help="Continue an earlier series here."),
    overlays: str = typer.Option(
        ",".join(OVERLAYS), "--overlays", help="Comma-separated producers; rounds cycle through them."
    ),
    snapshot_every: int = typer.Option(3, "--snapshot-every", min=1, help="Snapshot + checkpoint period."),
) -> None:
    """Append K seeded HPC-like rounds to DATASET: records, an overlay part and an event per round,
    a snapshot and an _artifacts/ checkpoint every few rounds."""
    series = BatchSeries(
        seed,
        records_per_round=records,
        overlays=_parse_overlays(overlays),
        snapshot_every=snapshot_every,
    )
    root = root.absolute()
    for result in series.run(root, dataset, rounds, first=first_round):
        dataset_dir = root / dataset
        line = f"round {result.round}: +{result.records_added} records, {result.namespace} part "
        line += result.part.relative_to(dataset_dir).as_posix()
        if result.snapshot is not None and result.checkpoint is not None:
            line += f", snapshot {result.snapshot.name}, checkpoint {result.checkpoint.name}"
        typer.echo(line)
    typer.echo(f"dataset {dataset} at {root / dataset}")


def register(app: typer.Typer) -> None:
    """Add `mock` to the `usr-harness` root app."""
    app.command("mock")(mock)
