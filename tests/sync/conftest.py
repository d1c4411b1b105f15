"""Datasets on both sides of a remote, and a `usr` runner that returns code + audit.

`sides` puts the remote behind the real loopback sshd (its tests are marked `ssh`); `disk_sides`
puts it behind a `client: local` profile, the same agent as a local child over pipes, no sshd.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from tests.usr_sides import DATASET, Sides
from usr_harness.sync import engine
from usr_harness.sync.options import SyncOptions

DISK_REMOTE = "disk2"


def run_engine(sides: Sides, action: str, remote: str = DISK_REMOTE) -> dict:
    """`engine.run` of ACTION on the dataset with --yes, in this process, silent: its audit."""
    request = engine.SyncRequest(
        root=sides.local_root,
        dataset=DATASET,
        remote=remote,
        remotes_config=sides.remotes_config,
        opts=SyncOptions(yes=True),
        echo=lambda _line: None,
    )
    return engine.run(action, request)


@pytest.fixture
def sides(tmp_path: Path, remotes_config: Path, remote_base: Path, capsys) -> Sides:
    local_root = tmp_path / "laptop"
    local_root.mkdir()
    audits = tmp_path / "audits"
    audits.mkdir()
    return Sides(local_root, remote_base, remotes_config, audits, capsys)


@pytest.fixture
def disk_remotes(tmp_path: Path) -> Path:
    """A remotes YAML (0600) whose profile `disk2` runs the agent locally over pipes on a tmp base_dir."""
    base_dir = tmp_path / "disk2"
    base_dir.mkdir()
    profile = {
        "type": "ssh",
        "host": "localhost",
        "user": "local",
        "base_dir": str(base_dir),
        "python": sys.executable,
        "client": "local",
    }
    path = tmp_path / "disk-remotes.yaml"
    path.write_text(yaml.safe_dump({"remotes": {DISK_REMOTE: profile}}))
    path.chmod(0o600)
    return path


@pytest.fixture
def disk_sides(tmp_path: Path, disk_remotes: Path, capsys) -> Sides:
    """`Sides` whose remote is profile `disk2`: no sshd, so these tests stay in the `not ssh` tier."""
    local_root = tmp_path / "laptop"
    local_root.mkdir()
    audits = tmp_path / "audits"
    audits.mkdir()
    return Sides(local_root, tmp_path / "disk2", disk_remotes, audits, capsys)
