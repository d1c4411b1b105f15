"""`usr`: the USR dataset commands and the sync engine (diff / pull / push / remotes)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from usr_harness.cli.runner import run_app, version_option
from usr_harness.cli.usr import dataset, namespace, remotes, sync
from usr_harness.cli.usr.state import UsrState

app = typer.Typer(
    name="usr",
    help="USR datasets: create, import, attach overlays, validate, and sync with an HPC remote over SSH.",
    no_args_is_help=True,
    rich_markup_mode=None,
    add_completion=False,
    pretty_exceptions_enable=False,
)


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
    _version: bool = version_option("usr"),
) -> None:
    ctx.obj = UsrState(root=(root or Path.cwd()).absolute(), remotes_config=remotes_config)


dataset.register(app)
namespace.register(app)
remotes.register(app)
sync.register(app)


def main(argv: list[str] | None = None) -> int:
    code = run_app(app, "usr", argv)
    if argv is None:
        sys.exit(code)
    return code
