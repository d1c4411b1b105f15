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


@pytest.mark.parametrize(
    "argv", [["pull", "demo", "hpc", "--root", "/tmp"], ["diff", "demo", "hpc", "--root=x"]]
)
def test_a_program_option_after_the_command_says_where_it_goes(capsys, argv: list[str]):
    code, _, err = run_usr(capsys, *argv)
    line = _one_usage_line(err)
    assert code == 2
    assert "--root is an option of `usr` itself: put it before the command" in line
    assert "Possible options" not in line


def test_an_unknown_option_still_names_the_possible_ones(capsys):
    code, _, err = run_usr(capsys, "pull", "demo", "hpc", "--rot", "x")
    assert code == 2 and "No such option: --rot (Possible options: --repo-root)" in _one_usage_line(err)


@pytest.mark.parametrize(("run", "prog"), [(run_usr, "usr"), (run_harness, "usr-harness")])
def test_both_programs_print_their_version(capsys, run, prog: str):
    from importlib.metadata import version

    code, out, err = run(capsys, "--version")
    assert (code, out, err) == (0, f"{prog} {version('usr-harness')}\n", "")


@pytest.mark.parametrize(
    ("argv", "choices"),
    [
        (["usr", "pull", "--help"], "hash|auto|size|parquet"),
        (["usr", "diff", "--help"], "plain|json"),
        (["usr", "remotes", "wizard", "--help"], "paramiko|openssh|local"),
        (["usr-harness", "corrupt", "apply", "--help"], "local|remote"),
        (["usr-harness", "cycle", "--help"], "small|medium|large"),
    ],
)
def test_every_enumerated_option_lists_its_choices(capsys, monkeypatch, argv: list[str], choices: str):
    monkeypatch.setenv("COLUMNS", "200")
    run = run_usr if argv[0] == "usr" else run_harness
    code, out, _ = run(capsys, *argv[1:])
    assert code == 0 and choices in out


@pytest.mark.parametrize(
    "argv",
    [
        ["usr", "--help"],
        ["usr", "pull", "--help"],
        ["usr-harness", "--help"],
        ["usr-harness", "cycle", "--help"],
        ["usr-harness", "report", "show", "--help"],
    ],
)
def test_one_help_style_on_both_programs(capsys, monkeypatch, argv: list[str]):
    """Plain help everywhere: rich's boxes would cut long option names at 80 columns."""
    monkeypatch.setenv("COLUMNS", "80")
    run = run_usr if argv[0] == "usr" else run_harness
    code, out, _ = run(capsys, *argv[1:])
    assert code == 0 and out.startswith("Usage: ")
    assert not any(box in out for box in "╭╰│"), out
