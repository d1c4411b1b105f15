"""Usage errors of the command line itself come out as one `usr: error[usage]: ...` line, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_runs import run_harness, run_usr
from usr_harness.report.fingerprint import fingerprint_tree


def _one_usage_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("usr: error[usage]: ") or lines[0].startswith("usr-harness: error[usage]: ")
    return lines[0]


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["pull", "-demo", "hpc", "-y"], "dataset ids never begin with '-'"),
        (["pull", "--bogus"], "No such option: --bogus; see `usr pull --help`"),
        (["pull"], "Missing argument 'target'"),
        (["diff", "demo", "hpc", "--format", "xml"], "--format must be plain or json"),
        (["--root"], "requires an argument"),
    ],
)
def test_framework_usage_errors_are_one_line(capsys, argv: list[str], words: str):
    code, _, err = run_usr(capsys, *argv)
    assert code == 2
    assert words in _one_usage_line(err)


def test_the_harness_cli_speaks_the_same_form(capsys):
    code, _, err = run_harness(capsys, "bogus")
    assert code == 2 and "No such command 'bogus'" in _one_usage_line(err)


def test_no_arguments_still_shows_the_help(capsys):
    code, out, err = run_usr(capsys)
    assert code == 2 and "Usage: usr" in out + err


@pytest.mark.parametrize("target", ["a" * 300, "ns/" + "b" * 256, "de\nmo", "x\x1b[2J"])
@pytest.mark.parametrize("action", ["diff", "pull", "push"])
def test_an_unusable_dataset_id_is_usage_and_touches_nothing(
    capsys, tmp_path: Path, action: str, target: str
):
    before = fingerprint_tree(tmp_path)
    code, _, err = run_usr(capsys, "--root", str(tmp_path), action, target, "hpc")
    assert code == 2
    line = _one_usage_line(err)
    assert "TARGET" in line and ("at most 128" in line or "unsafe characters" in line)
    assert fingerprint_tree(tmp_path).digest == before.digest
