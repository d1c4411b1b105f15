"""The reproduce command: copy-paste safe, and naming the run's seed, scale and engine."""

from __future__ import annotations

import shlex

from usr_harness.report.reproduce import reproduce_command


def test_the_command_parses_back_to_the_run_settings() -> None:
    command = reproduce_command(
        "drills/test_x.py::test_case[a;rm -rf x]",
        seed=1729,
        scale="small",
        rootdir="/work/my repo",
        engine_profile="upstream",
        engine_cmd="/opt/venv/bin/usr --flag",
    )
    cd, rest = command.split(" && ")
    assert shlex.split(cd) == ["cd", "/work/my repo"]
    assert shlex.split(rest) == [
        "pytest",
        "drills/test_x.py::test_case[a;rm -rf x]",
        "--drill-seed=1729",
        "--drill-scale=small",
        "--engine-profile=upstream",
        "--engine-cmd=/opt/venv/bin/usr --flag",
        "-p",
        "no:xdist",
    ]


def test_the_bundled_engine_needs_no_engine_options() -> None:
    command = reproduce_command("drills/t.py::test_a", seed=7, scale="medium", rootdir="/r")
    assert command == "cd /r && pytest drills/t.py::test_a --drill-seed=7 --drill-scale=medium -p no:xdist"


def test_a_remote_other_than_loopback_is_named() -> None:
    command = reproduce_command(
        "drills/t.py::test_a",
        seed=7,
        scale="small",
        rootdir="/r",
        remote_options=("--drill-remote-provider=container", "--drill-container-suite=bullseye"),
    )
    assert command.endswith("--drill-remote-provider=container --drill-container-suite=bullseye -p no:xdist")
