"""`usr-harness adversarial list|apply|export`: the hostile-input catalogue, one case, the corpus."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from usr_harness.adversarial.catalogue import CATALOGUE, case_by_id
from usr_harness.adversarial.export import DEFAULT_SEED, export_corpus
from usr_harness.adversarial.runner import apply_case
from usr_harness.errors import UsageError

adversarial = typer.Typer(
    help="Hostile schemas, records and registry edits, each with the rejection it must draw.",
    no_args_is_help=True,
)


@adversarial.command("list")
def list_cases(as_json: bool = typer.Option(False, "--json", help="One JSON object per case.")) -> None:
    """Every case in catalogue order: id, entry point, expected family and message token."""
    for case in CATALOGUE:
        expected = case.expected_family or "accepted"
        if as_json:
            row = {
                "id": case.id,
                "entry_point": case.entry_point,
                "expected_family": case.expected_family,
                "expected_token": case.expected_token,
                "needs_engine": case.needs_engine,
                "description": case.description,
            }
            typer.echo(json.dumps(row, sort_keys=True))
        else:
            typer.echo(f"{case.id:<40} {case.entry_point:<19} {expected:<11} {case.description}")


@adversarial.command("apply")
def apply(
    case_id: str = typer.Argument(..., metavar="CASE", help="A case id from `adversarial list`."),
    dataset: str = typer.Argument(
        ..., help="An existing valid dataset with the mock namespaces (e.g. grown by `usr-harness mock`)."
    ),
    root: Path = typer.Option(..., "--root", help="Datasets root (holds registry.yaml)."),
    seed: int = typer.Option(0, "--seed", help="Seed for the values the case draws."),
) -> None:
    """Apply CASE to DATASET and say whether it drew its declared outcome; exit 1 if it did not."""
    try:
        case = case_by_id(case_id)
    except KeyError:
        raise UsageError(
            f"unknown adversarial case {case_id!r}; see `usr-harness adversarial list`"
        ) from None
    outcome = apply_case(case, root.absolute(), dataset, seed=seed)
    if outcome.skipped:
        typer.echo(f"{case.id}: not run ({outcome.skipped})")
        raise typer.Exit(1)
    drew = f"error[{outcome.family}]: {outcome.message}" if outcome.family else "accepted"
    expected = f"error[{case.expected_family}] containing {case.expected_token!r}"
    typer.echo(f"{case.id}: drew {drew}")
    typer.echo(f"  expected {expected if case.expected_family else 'accepted'}")
    typer.echo(f"  _derived {'unchanged' if outcome.derived_unchanged else 'CHANGED'}")
    ok = outcome.matched and outcome.derived_unchanged
    typer.echo(f"  verdict: {'pass' if ok else 'fail'}")
    if not ok:
        raise typer.Exit(1)


@adversarial.command("export")
def export(
    folder: Path = typer.Argument(..., metavar="DIR", help="Folder to write the corpus to (replaced)."),
    seed: int = typer.Option(DEFAULT_SEED, "--seed", help="Seed for the values the cases draw."),
) -> None:
    """Write every case's hostile input to DIR, with an index of what each targets and must draw."""
    written = export_corpus(folder, seed)
    typer.echo(f"{len(CATALOGUE)} cases, {len(written)} files written to {folder}")


def register(app: typer.Typer) -> None:
    """Add the `adversarial` group to the `usr-harness` root app."""
    app.add_typer(adversarial, name="adversarial")
