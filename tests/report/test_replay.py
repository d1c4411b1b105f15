"""Replay: same drills, seed and engine again; it says drill by drill what matched and what did not."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.report.conftest import SETTINGS, run_tiny
from usr_harness.report.build import RunSettings, write_run_files
from usr_harness.report.model import Report, load_report
from usr_harness.report.replay import DrillComparison, compare_reports, pytest_args, replay

TINY = "drills/test_tiny.py::"


def tiny_report(root: Path, run_dir: Path, seed: int = 7) -> Report:
    run_tiny(root, run_dir, seed)
    return write_run_files(run_dir, RunSettings(seed, None, "small", root))


def by_nodeid(comparisons: list[DrillComparison]) -> dict[str, DrillComparison]:
    return {comparison.nodeid.removeprefix(TINY): comparison for comparison in comparisons}


def test_replay_matches_steady_drills_and_names_what_differs(tiny_drills: Path, tmp_path: Path) -> None:
    original = tiny_report(tiny_drills, tmp_path / "first")
    assert {d.nodeid.removeprefix(TINY): d.verdict for d in original.drills} == {
        "test_steady": "pass",
        "test_wall_clock": "pass",
        "test_refused": "fail",
        "test_skipped[a;rm -rf x]": "unknown",
        "test_skipped[new\\nline]": "unknown",
    }
    again, comparisons = replay(original, tmp_path / "again")
    assert again.replay_of == original.run_id and (tmp_path / "again/index.html").is_file()
    results = by_nodeid(comparisons)
    assert list(results) == [d.nodeid.removeprefix(TINY) for d in original.drills]
    assert {name for name, result in results.items() if result.matches} == {
        "test_steady",
        "test_refused",
        "test_skipped[a;rm -rf x]",
        "test_skipped[new\\nline]",
    }
    assert results["test_wall_clock"].changed_prints == ("final.local", "final.remote")
    assert results["test_wall_clock"].describe() == "fingerprints differ: final.local, final.remote"
    assert results["test_refused"].describe() == "verdict fail, no fingerprints recorded"
    assert results["test_steady"].describe() == "verdict pass, fingerprints same (1)"

    reseeded, comparisons = replay(dataclasses.replace(original, seed=8), tmp_path / "seed8")
    assert reseeded.seed == 8 and not by_nodeid(comparisons)["test_steady"].matches


def test_comparison_counts_missing_drills_and_changed_verdicts(tiny_drills: Path, tmp_path: Path) -> None:
    original = tiny_report(tiny_drills, tmp_path / "first")
    steady = [d for d in original.drills if d.nodeid.endswith("test_steady")]
    flipped = dataclasses.replace(steady[0], verdict="fail", fingerprints={"final": "x", "extra": "y"})
    results = by_nodeid(compare_reports(original, dataclasses.replace(original, drills=(flipped,))))
    assert results["test_steady"].describe() == ("verdict pass -> fail; fingerprints differ: extra, final")
    assert (
        results["test_refused"].describe() == "not run by the replay" and not results["test_refused"].matches
    )


def test_pytest_args_anchor_nodeids_at_the_rootdir(tiny_drills: Path, tmp_path: Path) -> None:
    report = dataclasses.replace(
        tiny_report(tiny_drills, tmp_path / "first"), engine_cmd="my-usr --flag", scale="medium"
    )
    args = pytest_args(report, tmp_path / "next")
    assert args[0] == f"{tiny_drills}/drills/test_tiny.py::test_steady"
    assert {"--drill-seed=7", "--drill-scale=medium", "--engine-cmd=my-usr --flag"} <= set(args)
    assert f"--junitxml={tmp_path / 'next/junit.xml'}" in args and f"--rootdir={tiny_drills}" in args


@pytest.mark.parametrize(
    "remote",
    [
        ("--drill-remote-provider=container", "--drill-container-suite=bullseye"),
        ("--drill-remote-provider=profile", "--drill-remote-profile=hpc-login"),
    ],
)
def test_pytest_args_carry_the_runs_remote_and_the_workers(
    sample_run: Path, tmp_path: Path, remote: tuple[str, ...]
) -> None:
    """A run on a container or profile remote replays there, never silently on the loopback host."""
    report = write_run_files(sample_run, dataclasses.replace(SETTINGS, remote_options=remote))
    args = pytest_args(load_report(sample_run), tmp_path / "next", workers=2)
    assert set(remote) | {"--numprocesses=2"} <= set(args)
    loopback = pytest_args(dataclasses.replace(report, remote_options=()), tmp_path / "next")
    assert not [arg for arg in loopback if arg.startswith(("--drill-remote", "--drill-container", "--num"))]
    assert args[: len(report.drills)] == loopback[: len(report.drills)]


@pytest.mark.ssh
def test_a_run_on_a_remote_profile_replays_on_that_profile_not_on_the_loopback_host(tmp_path: Path) -> None:
    """End to end through pytest and the CLI on a real profile remote (a loopback sshd named in a
    remotes file): the replay runs the drill there again, and each report says where it ran. A replay
    that dropped the provider would pass too, on the loopback host, and say so."""
    from usr_harness.hosts.loopback import LoopbackSshd

    root = Path(__file__).resolve().parents[2]
    remote = ("--drill-remote-provider=profile", "--drill-remote-profile=hpc-login")
    walk = "drills/test_runbook_drills.py::test_chained_loop_ends_up_to_date"
    args = [walk, "-q", "-p", "no:cacheprovider", *remote, f"--drill-report-dir={tmp_path / 'first'}"]
    replay_args = ["replay", str(tmp_path / "first"), "--report-dir", str(tmp_path / "again")]
    with LoopbackSshd(tmp_path / "host") as host:
        remotes = host.write_remotes_yaml(tmp_path / "remotes.yaml", "hpc-login")
        env = {**os.environ, "USR_REMOTES_PATH": str(remotes)}
        subprocess.run(
            [sys.executable, "-m", "pytest", *args], cwd=root, env=env, capture_output=True, timeout=300
        )
        done = subprocess.run(
            [sys.executable, "-m", "usr_harness.cli.harness", *replay_args],
            env=env,
            capture_output=True,
            timeout=300,
        )
    first, again = load_report(tmp_path / "first"), load_report(tmp_path / "again" / "latest")
    assert first.remote_options == again.remote_options == remote
    assert "remote --drill-remote-provider=profile" in done.stderr.decode()
    for run in (first, again):
        assert (
            run.drills[0].verdict == "pass" and run.drills[0].evidence["remote_host"]["provider"] == "profile"
        )
    [comparison] = compare_reports(first, again)
    assert comparison.matches, comparison.describe()
    assert done.returncode == 0 and remote[1] in again.drills[0].reproduce


@pytest.mark.ssh
def test_a_runbook_walk_through_the_real_usr_attach_replays_to_the_same_fingerprints(tmp_path: Path) -> None:
    """The walks run `usr attach`, which stamps its part and event line with the wall clock; the
    replayable `final` print leaves those out by name, so the same seed gives the same prints
    (main: `final.local` / `final.remote` differed on every run)."""
    root = Path(__file__).resolve().parents[2]
    walk = "drills/test_runbook_commands.py::test_every_runbook_command_runs_as_written[quickstart]"
    runs = []
    for name in ("first", "again"):
        run_dir = tmp_path / name
        args = [sys.executable, "-m", "pytest", walk, "-q", "-p", "no:cacheprovider", "--drill-seed=5"]
        done = subprocess.run(
            [*args, f"--drill-report-dir={run_dir}"], cwd=root, capture_output=True, timeout=600
        )
        assert done.returncode == 0, done.stdout.decode()[-2000:]
        runs.append(load_report(run_dir))
    [comparison] = compare_reports(*runs)
    assert comparison.matches and comparison.compared_prints == 1, comparison.describe()
    left_out = runs[0].drills[0].evidence["left_out_of_fingerprint"]
    assert left_out["files"] and "timestamp_utc" in left_out["event_fields"]
