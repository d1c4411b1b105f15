"""`usr ... --help` as an 80-column terminal shows it: patterns intact, every option name whole."""

from __future__ import annotations

from typing import Any

import pytest
import typer

from tests.cli_runs import run_usr as run
from usr_harness.cli.usr.app import app


def _commands(group: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    """Every command and group under `usr`, with the words that reach it."""
    found = [(path, group)]
    for name, command in sorted(getattr(group, "commands", {}).items()):
        found += _commands(command, (*path, name))
    return found


COMMANDS = _commands(typer.main.get_command(app))


def test_the_namespace_pattern_is_shown_as_written(capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    code, out, _ = run(capsys, "namespace", "register", "--help")
    assert code == 0 and "^[a-z][a-z0-9_]*$" in out


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(path) or "usr" for path, _ in COMMANDS])
def test_every_option_name_is_whole_at_80_columns(capsys, monkeypatch, path, command) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    code, out, _ = run(capsys, *path, "--help")
    assert code == 0
    names = [name for param in command.params for name in (*param.opts, *param.secondary_opts)]
    missing = [name for name in names if name.startswith("-") and name not in out]
    assert not missing, out
    assert max(len(line) for line in out.splitlines()) <= 80
