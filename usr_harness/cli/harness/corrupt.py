"""`usr-harness corrupt list | apply`: the corruption catalogue, and one entry applied to a dataset.

`apply --side remote` acts only through an SSH session to the named remote, never
through the local filesystem, so it breaks a real remote exactly as a drill does.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import paramiko
import typer

from usr_harness.corrupt import CATALOGUE, SIDES, AppliedCorruption, LocalTree, RemoteTree, apply, get
from usr_harness.errors import UsageError, UsrError
from usr_harness.sync.remote import get_profile, open_session

corrupt_app = typer.Typer(
    name="corrupt",
    help="Break one file of a dataset on purpose (local or remote), with the detection each break must draw.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add `usr-harness corrupt ...` to `app`."""
    app.add_typer(corrupt_app, name="corrupt")


@corrupt_app.command("list")
def list_entries(as_json: bool = typer.Option(False, "--json", help="The whole catalogue as JSON.")) -> None:
    """Every entry in catalogue order, with its strict-profile detection per side and command."""
    if as_json:
        typer.echo(json.dumps([entry.as_dict() for entry in CATALOGUE], indent=2))
        return
    for entry in CATALOGUE:
        typer.echo(f"{entry.id:<28} {entry.summary}")
        for side in SIDES:
            cells = []
            for command in ("diff", "pull", "push", "validate"):
                expected = entry.expect(side, command)
                cells.append(f"{command}={expected.outcome}")
            typer.echo(f"{'':<30}{side:<7} {' '.join(cells)}")


@corrupt_app.command("apply")
def apply_entry(
    kind: str = typer.Argument(..., help="Catalogue id, e.g. derived.byte-flip."),
    dataset: str = typer.Argument(..., help="Dataset id under the datasets root."),
    side: str = typer.Option("local", "--side", metavar="|".join(SIDES), help="Which copy to corrupt."),
    root: Path = typer.Option(
        None,
        "--root",
        help="Datasets root: local folder (default: $USR_ROOT, else the current folder), "
        "or remote path (default: the profile's base_dir).",
    ),
    remote: str = typer.Option(None, "--remote", help="Remote profile name (with --side remote)."),
    remotes_config: Path = typer.Option(
        None, "--remotes-config", help="Remote profiles YAML (else $USR_REMOTES_PATH)."
    ),
    seed: int = typer.Option(0, "--seed", help="Picks the file, offset and bytes; same seed, same break."),
    as_json: bool = typer.Option(False, "--json", help="Print what was done as JSON."),
) -> None:
    """Apply one corruption and print the path it changed and how."""
    entry = get(kind)
    if side not in SIDES:
        raise UsageError(f"--side must be local or remote, not {side!r}")
    if side == "local":
        if remote:
            raise UsageError("--remote applies to --side remote only")
        tree_root = (root or Path(os.environ.get("USR_ROOT") or ".")).absolute()
        applied = _guarded(lambda: apply(entry, LocalTree(tree_root), dataset, seed), str(tree_root))
    else:
        if not remote:
            raise UsageError("--side remote needs --remote NAME")
        profile = get_profile(remote, remotes_config)
        remote_root = str(root) if root else profile.base_dir
        with open_session(profile) as session:
            tree = RemoteTree(session, remote_root)
            applied = _guarded(lambda: apply(entry, tree, dataset, seed), tree.describe(""))
    _report(applied, as_json)


def _guarded(action: Callable[[], AppliedCorruption], where: str) -> AppliedCorruption:
    """Run `action`; file-system and SFTP failures become one clear line instead of a traceback."""
    try:
        return action()
    except (OSError, paramiko.SSHException) as error:
        raise UsrError(f"cannot apply the corruption under {where}: {error}") from None


def _report(applied: AppliedCorruption, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(applied.as_dict(), indent=2))
        return
    typer.echo(f"{applied.id} on {applied.side} {applied.path}: {applied.detail}")
    for path in applied.paths:
        if path != applied.path:
            typer.echo(f"  also changed: {path}")
