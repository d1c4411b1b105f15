"""Shared by the whole suite: an isolated environment and a real loopback OpenSSH host.

Environment isolation lives in the repository conftest. One sshd runs per xdist worker;
each test that asks for `remotes_config` gets its own remote base_dir on it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from usr_harness.hosts.loopback import LoopbackSshd


@pytest.fixture(scope="session")
def loopback_host(drill_host: LoopbackSshd) -> LoopbackSshd:
    """The plugin's sshd for this worker: tests and drills share one host per xdist worker."""
    return drill_host


@pytest.fixture
def remote_base(loopback_host: LoopbackSshd, tmp_path: Path) -> Path:
    """A fresh remote base_dir for this test, so tests never see each other's datasets."""
    path = loopback_host.base_dir / tmp_path.name
    path.mkdir()
    return path


@pytest.fixture
def remotes_config(loopback_host: LoopbackSshd, remote_base: Path, tmp_path: Path) -> Path:
    """A remotes YAML with profile `loopback` on the worker's host, rooted at `remote_base`."""
    return loopback_host.write_remotes_yaml(tmp_path / "remotes.yaml", "loopback", base_dir=remote_base)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that use the loopback host carry the `ssh` marker (`-m "not ssh"` skips them)."""
    for item in items:
        if "loopback_host" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.ssh)
