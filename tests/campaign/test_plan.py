"""What a campaign runs: the shard and cycle command lines, local and for CI."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from tests.cli_runs import run_harness
from usr_harness.campaign.plan import (
    PROVENANCE_PLUGIN,
    CampaignSpec,
    ci_commands,
    default_durations_path,
    shard_args,
)
from usr_harness.campaign.provenance import selection_args


def test_each_shard_is_a_pytest_split_group_of_the_cycle_drill_options(tmp_path: Path) -> None:
    spec = CampaignSpec(
        shards=3, seed=11, engine_profile="upstream", engine_cmd="/opt/usr", drills_expr="locks"
    )
    args = shard_args(spec, 2, tmp_path / "shard-2")
    assert {"--drill-seed=11", "--drill-engine-profile=upstream", "--drill-engine-cmd=/opt/usr"} <= set(args)
    assert args[args.index("-k") + 1] == "locks" and args[args.index(PROVENANCE_PLUGIN) - 1] == "-p"
    assert f"--drill-report-dir={tmp_path / 'shard-2'}" in args
    assert {"--splits=3", "--group=2", f"--durations-path={default_durations_path()}"} <= set(args)
    assert not any(arg.startswith("--splits") for arg in shard_args(CampaignSpec(shards=1), 1, tmp_path))
    with pytest.raises(ValueError, match=r"group 4 is not in 1\.\.3"):
        shard_args(spec, 4, tmp_path)
    with pytest.raises(ValueError, match="shards must be at least 1"):
        CampaignSpec(shards=0)


def test_ci_commands_are_relative_to_the_repository_and_end_with_the_merge() -> None:
    lines = ci_commands(CampaignSpec(shards=2, drills_expr="adversarial and registry"))
    assert len(lines) == 3
    first = shlex.split(lines[0])
    assert first[:2] == ["pytest", "drills"] and "--rootdir=." in first
    assert {"--group=1", "--splits=2", "--durations-path=fixtures/drill-durations.json"} <= set(first)
    assert "--drill-report-dir=reports/shard-1" in first and "adversarial and registry" in first
    assert lines[2] == "usr-harness report merge reports/shard-1 reports/shard-2 --out reports/merged"


def test_a_soak_runs_one_whole_selection_per_seed() -> None:
    spec = CampaignSpec(shards=2, seed=100, cycles=3)
    assert spec.seeds == [100, 101, 102]
    *cycles, judge = ci_commands(spec)
    lines = [shlex.split(line) for line in cycles]
    seeds = [[arg for arg in line if arg.startswith("--drill-seed=")] for line in lines]
    assert seeds == [["--drill-seed=100"], ["--drill-seed=101"], ["--drill-seed=102"]]
    assert "--drill-report-dir=reports/seed-101" in lines[1]
    assert judge == (
        "usr-harness report soak reports/seed-100 reports/seed-101 reports/seed-102 --out reports/soak.json"
    )
    assert not any(arg.startswith("--splits") for line in lines for arg in line)
    with pytest.raises(ValueError, match="cycles must be at least 1"):
        CampaignSpec(shards=1, cycles=0)


def test_selection_args_drop_only_the_split_options() -> None:
    given = ["drills", "-k", "x", "--splits", "2", "--group=1", "--durations-path", "d.json", "-q"]
    assert selection_args(given) == ["drills", "-k", "x", "-q"]


def test_campaign_refuses_bad_counts_before_running_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = tmp_path / "reports"
    code, _, err = run_harness(capsys, "campaign", "--shards", "0", "--report-dir", str(reports))
    assert code == 2 and "shards must be at least 1, not 0" in err
    argv = ["campaign", "--shards", "2", "--golden", str(tmp_path / "g.json"), "--report-dir", str(reports)]
    code, _, err = run_harness(capsys, *argv)
    assert code == 2 and "--golden sets a soak's expected verdicts: it needs --cycles 2 or more" in err
    assert not reports.exists()


@pytest.mark.parametrize(
    ("given", "chosen"),
    [
        ([], []),
        (
            ["--remote-provider", "container", "--container-suite", "bullseye"],
            ["--drill-remote-provider=container", "--drill-container-suite=bullseye"],
        ),
        (
            ["--remote-provider", "profile", "--remote-profile", "hpc-login"],
            ["--drill-remote-provider=profile", "--drill-remote-profile=hpc-login"],
        ),
    ],
)
def test_every_shard_drills_the_remote_the_campaign_names(
    capsys: pytest.CaptureFixture[str], given: list[str], chosen: list[str]
) -> None:
    code, out, _ = run_harness(capsys, "campaign", "--shards", "2", *given, "--print-commands")
    assert code == 0
    for line in out.splitlines()[:2]:
        args = shlex.split(line)
        assert [arg for arg in args if arg.startswith(("--drill-remote", "--drill-container"))] == chosen


def test_campaign_refuses_a_profile_without_its_provider_and_an_unknown_provider(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = ("--report-dir", str(tmp_path / "reports"))
    code, _, err = run_harness(capsys, "campaign", "--shards", "1", "--remote-profile", "hpc", *reports)
    assert code == 2 and "--remote-profile NAME goes with --remote-provider profile" in err
    code, _, err = run_harness(capsys, "campaign", "--shards", "1", "--remote-provider", "profile", *reports)
    assert code == 2 and "--remote-profile NAME goes with --remote-provider profile" in err
    code, _, err = run_harness(capsys, "campaign", "--shards", "1", "--remote-provider", "cloud", *reports)
    assert code == 2 and "cloud" in err
    assert not (tmp_path / "reports").exists()
