"""run_app: Ctrl-C anywhere in a command exits 130 (as a shell reports it), never click's plain 1."""

from __future__ import annotations

import pytest
import typer

from usr_harness.cli.runner import run_app
from usr_harness.errors import INTERRUPTED_EXIT, ConfigError

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


@app.command()
def stop(how: str) -> None:
    if how == "interrupt":
        raise KeyboardInterrupt
    if how == "config":
        raise ConfigError("no remotes file")
    raise typer.Exit(3 if how == "exit" else 0)


@app.command()
def other() -> None:
    """A second command, so `stop` keeps its name."""


def test_interrupts_exit_130_and_other_exits_keep_their_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_app(app, "usr", ["stop", "interrupt"]) == INTERRUPTED_EXIT == 130
    assert run_app(app, "usr", ["stop", "exit"]) == 3
    assert run_app(app, "usr", ["stop", "config"]) == 3
    assert "usr: error[config]: no remotes file" in capsys.readouterr().err
    assert run_app(app, "usr", ["stop", "fine"]) == 0
    assert run_app(app, "usr", ["nope"]) == 2
