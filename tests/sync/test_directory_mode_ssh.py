"""Dataset targets named by id or by folder, over the real loopback sshd, with both SSH clients."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.usr_sides import DATASET, Sides, make_dataset, overlay_table
from usr_harness.dataset import Dataset
from usr_harness.dataset.registry import register_namespace
from usr_harness.errors import UsageError
from usr_harness.report.fingerprint import fingerprint_tree

CLIENTS = ("paramiko", "openssh")


@pytest.fixture
def client_sides(request, sides: Sides) -> Sides:
    document = yaml.safe_load(sides.remotes_config.read_text())
    document["remotes"]["loopback"]["client"] = getattr(request, "param", "paramiko")
    sides.remotes_config.write_text(yaml.safe_dump(document))
    return sides


def round_trip(sides: Sides, target: str, local_root: Path) -> None:
    """push (bootstrap), diff, a remote edit, pull: both sides end identical."""
    pushed = sides.usr("push", target, "loopback", "-y")
    assert pushed.code == 0, pushed.err + pushed.out
    assert pushed.audit["data"]["dataset"] == DATASET and pushed.audit["data"]["post"]["up_to_date"]
    assert sides.usr("diff", target, "loopback").audit["data"]["up_to_date"] is True
    register_namespace(sides.remote_root, "densegen", [("densegen__score", "float64")], owner="hpc")
    remote = Dataset.open(sides.remote_root, DATASET)
    remote.attach(overlay_table(remote, "densegen__score", 3.0), namespace="densegen")
    pulled = sides.usr("pull", target, "loopback", "-y")
    assert pulled.code == 0, pulled.err + pulled.out
    assert (
        pulled.audit["data"]["transfer_state"] == "TRANSFERRED" and pulled.audit["data"]["post"]["up_to_date"]
    )
    local, remote = fingerprint_tree(local_root / DATASET), fingerprint_tree(sides.remote)
    assert local.digest == remote.digest


@pytest.mark.parametrize("client_sides", CLIENTS, indirect=True)
def test_dataset_id_round_trip(client_sides: Sides):
    make_dataset(client_sides.local_root)
    round_trip(client_sides, DATASET, client_sides.local_root)


@pytest.mark.parametrize("client_sides", CLIENTS, indirect=True)
def test_dataset_folder_inside_root_round_trip(client_sides: Sides):
    make_dataset(client_sides.local_root)
    round_trip(client_sides, str(client_sides.local_root / DATASET), client_sides.local_root)


def test_dataset_folder_finds_its_registry_root_outside_root(client_sides: Sides, tmp_path: Path):
    other_root = tmp_path / "checkout" / "datasets"
    other_root.mkdir(parents=True)
    make_dataset(other_root)
    round_trip(client_sides, str(other_root / DATASET), other_root)
    assert (other_root / ".usr-sync" / "loopback" / f"{DATASET}.json").is_file()
    assert not (client_sides.local_root / DATASET).exists()


def test_dataset_folder_outside_any_root_is_a_usage_error(sides: Sides, tmp_path: Path):
    root = tmp_path / "scratch"
    root.mkdir()
    make_dataset(root)
    (root / "registry.yaml").unlink()
    result = sides.usr("push", str(root / DATASET), "loopback", "-y")
    assert result.code == UsageError.exit_code, result.err + result.out
    assert "--root" in result.err and "dataset id" in result.err and result.audit is None
    assert not (sides.remote_root / DATASET).exists()
