"""`usr`: the USR dataset commands and the sync engine (diff / pull / push / remotes)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import typer

from usr_harness.cli import usr_dataset, usr_namespace, usr_remotes, usr_sync
from usr_harness.cli.runner import run_app

app = typer.Typer(
    name="usr",
    help="USR datasets: create, import, attach overlays, validate, and sync with an HPC remote over SSH.",
    no_args_is_help=True,
    rich_markup_mode=None,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@dataclass(frozen=True)
class UsrState:
    root: Path
    remotes_config: Path | None


@app.callback()
def _root_options(
    ctx: typer.Context,
    root: Path = typer.Option(
        None,
        "--root",
        envvar="USR_ROOT",
        help="Datasets root (holds registry.yaml); default: current folder.",
    ),
    remotes_config: Path = typer.Option(
        None, "--remotes-config", help="Remote profiles YAML (else $USR_REMOTES_PATH; there is no default)."
    ),
) -> None:
    ctx.obj = UsrState(root=(root or Path.cwd()).absolute(), remotes_config=remotes_config)


def state(ctx: typer.Context) -> UsrState:
    return ctx.find_root().obj


usr_dataset.register(app)
usr_namespace.register(app)
usr_remotes.register(app)
usr_sync.register(app)


def main(argv: list[str] | None = None) -> int:
    code = run_app(app, "usr", argv)
    if argv is None:
        sys.exit(code)
    return code


if __name__ == "__main__":
    main()
