"""Run the command lines in-process, the way a user types them, and read what they printed."""

from __future__ import annotations

import io

import pytest

from usr_harness.cli.harness.app import main as harness_main
from usr_harness.cli.usr.app import main as usr_main


class Terminal(io.StringIO):
    """A stdin that says it is a terminal, for commands that refuse to prompt without one."""

    def isatty(self) -> bool:
        return True


def run_usr(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = usr_main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_harness(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = harness_main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err
