"""`usr-harness powercut`: a power-loss campaign on a copy of one's dataset, never on the data itself."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_runs import run_harness, run_usr
from tests.usr_sides import DATASET, make_dataset, overlay_table
from usr_harness.dataset import Dataset
from usr_harness.powercut import fuse_unavailable_reason
from usr_harness.report.fingerprint import fingerprint_tree

pytestmark = pytest.mark.skipif(fuse_unavailable_reason() is not None, reason=f"{fuse_unavailable_reason()}")


def _synced_then_attached(local: Path, remote: Path, config: Path, capsys, *, on: str) -> None:
    """Both sides in sync, then a new overlay part on the side the campaign's sync reads from."""
    make_dataset(remote)
    code, _, err = run_usr(
        capsys, "--root", str(local), "--remotes-config", str(config), "pull", DATASET, "loopback", "-y"
    )
    assert code == 0, err
    dataset = Dataset.open(local if on == "local" else remote, DATASET)
    dataset.attach(overlay_table(dataset, "infer__llr", 2.0), namespace="infer")


def _campaign(capsys, local: Path, config: Path, tmp_path: Path, *extra: str) -> tuple[int, str, str]:
    return run_harness(
        capsys,
        "powercut",
        "--root",
        str(local),
        "--dataset",
        DATASET,
        "--remote",
        "loopback",
        "--remotes-config",
        str(config),
        "--report-dir",
        str(tmp_path / "report"),
        "--scratch",
        str(tmp_path / "scratch"),
        *extra,
    )


@pytest.mark.parametrize("direction", ["pull", "push"])
def test_a_campaign_checks_each_sampled_cut_and_leaves_both_sides_alone(
    tmp_path: Path,
    remote_base: Path,
    remotes_config: Path,
    capsys: pytest.CaptureFixture[str],
    direction: str,
) -> None:
    local = tmp_path / "local"
    _synced_then_attached(
        local, remote_base, remotes_config, capsys, on="remote" if direction == "pull" else "local"
    )
    before = fingerprint_tree(local).digest, fingerprint_tree(remote_base / DATASET).digest

    code, out, err = _campaign(
        capsys, local, remotes_config, tmp_path, "--direction", direction, "--sample", "3"
    )

    assert code == 0, out + err
    assert (fingerprint_tree(local).digest, fingerprint_tree(remote_base / DATASET).digest) == before
    report = json.loads((tmp_path / "report" / "powercut.json").read_text())
    assert report["direction"] == direction and report["violations"] == 0
    assert report["states_checked"] == 3 and len(report["cuts"]) == 3
    assert report["cuts"][-1]["last_k"] == report["operations"].__len__()
    assert all(
        cut["verdict"] == "pass" and cut["evidence"]["next_sync"]["exit_code"] == 0 for cut in report["cuts"]
    )
    assert report["cuts"][-1]["evidence"]["version"] == "new"
    assert "powercut: [3/3] cut after op" in err  # a line per cut point off a terminal
    assert "0 violations" in out
    html = (tmp_path / "report" / "powercut.html").read_text()
    assert html.startswith('<section class="power-loss">') and html.count('<tr class="pass">') == 3


def test_an_unknown_dataset_is_refused_by_name_and_nothing_is_written(
    tmp_path: Path, remote_base: Path, remotes_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    local = tmp_path / "local"
    _synced_then_attached(local, remote_base, remotes_config, capsys, on="remote")
    before = fingerprint_tree(local).digest, fingerprint_tree(remote_base).digest

    code, _, err = run_harness(
        capsys,
        "powercut",
        "--root",
        str(local),
        "--dataset",
        "nosuch",
        "--remote",
        "loopback",
        "--remotes-config",
        str(remotes_config),
        "--report-dir",
        str(tmp_path / "report"),
    )

    assert code == 2
    assert "no dataset 'nosuch' under" in err
    assert (fingerprint_tree(local).digest, fingerprint_tree(remote_base).digest) == before
    assert not (tmp_path / "report").exists()


def test_a_campaign_with_nothing_to_sync_says_so(
    tmp_path: Path, remote_base: Path, remotes_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    local = tmp_path / "local"
    make_dataset(remote_base)
    code, _, err = run_usr(
        capsys,
        "--root",
        str(local),
        "--remotes-config",
        str(remotes_config),
        "pull",
        DATASET,
        "loopback",
        "-y",
    )
    assert code == 0, err
    before = fingerprint_tree(local).digest

    code, _, err = _campaign(capsys, local, remotes_config, tmp_path)

    assert code == 2
    assert "hold the same version: nothing to cut" in err
    assert fingerprint_tree(local).digest == before
    assert not (tmp_path / "report").exists()
