"""`usr-harness corrupt list | apply` from the command line, on both sides."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer

from usr_harness.cli.harness import corrupt as harness_corrupt
from usr_harness.cli.runner import run_app
from usr_harness.corrupt import CATALOGUE
from usr_harness.report.fingerprint import fingerprint_tree


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    harness_corrupt.register(app)
    app.callback()(lambda: None)
    code = run_app(app, "usr-harness", list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_list_text_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "corrupt", "list")
    assert code == 0 and "derived.byte-flip" in out and "pull=sidecars" in out
    code, out, _ = run(capsys, "corrupt", "list", "--json")
    assert code == 0 and [item["id"] for item in json.loads(out)] == [entry.id for entry in CATALOGUE]


def test_apply_local_prints_what_changed(capsys: pytest.CaptureFixture[str], local_root: Path) -> None:
    before = fingerprint_tree(local_root)
    code, out, err = run(
        capsys,
        "corrupt",
        "apply",
        "events.cut-mid-line",
        "demo",
        "--root",
        str(local_root),
        "--seed",
        "3",
        "--json",
    )
    assert code == 0, err
    applied = json.loads(out)
    assert applied["side"] == "local" and applied["path"] == "demo/.events.log"
    assert before.compare(fingerprint_tree(local_root)).paths == ("demo/.events.log",)


def test_apply_remote_goes_through_the_profile(
    capsys: pytest.CaptureFixture[str], remotes_config: Path, remote_root: Path
) -> None:
    before = fingerprint_tree(remote_root)
    argv = ["corrupt", "apply", "derived.rename", "demo", "--side", "remote", "--remote", "loopback"]
    argv += ["--remotes-config", str(remotes_config), "--root", str(remote_root), "--seed", "9"]
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    assert out.startswith("derived.rename on remote demo/_derived/densegen/part-") and "also changed:" in out
    assert len(before.compare(fingerprint_tree(remote_root)).paths) == 2


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["corrupt", "apply", "derived.melt", "demo"], "unknown corruption"),
        (["corrupt", "apply", "derived.delete", "demo", "--side", "remote"], "needs --remote"),
        (["corrupt", "apply", "derived.delete", "demo", "--side", "sideways"], "--side must be"),
        (["corrupt", "apply", "derived.delete", "../up"], "dataset id"),
    ],
)
def test_usage_errors(
    capsys: pytest.CaptureFixture[str], local_root: Path, argv: list[str], message: str
) -> None:
    code, _, err = run(capsys, *argv, "--root", str(local_root))
    assert code == 2 and message in err


def test_missing_section_file_is_a_clear_error(capsys: pytest.CaptureFixture[str], local_root: Path) -> None:
    for part in (local_root / "demo/_derived/densegen").iterdir():
        part.unlink()
    code, _, err = run(capsys, "corrupt", "apply", "derived.byte-flip", "demo", "--root", str(local_root))
    assert code == 2 and "has no derived file to corrupt" in err
