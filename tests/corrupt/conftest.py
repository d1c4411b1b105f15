"""A pristine datasets root built once, copied fresh for each test on the local or the remote side."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.corrupt.dataset_tree import build_datasets_root
from usr_harness.hosts.loopback import LoopbackSshd
from usr_harness.sync.remote.near.session import SshSession, open_session


@pytest.fixture(scope="session")
def template_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_datasets_root(tmp_path_factory.mktemp("template") / "root")


@pytest.fixture
def local_root(template_root: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(template_root, tmp_path / "local", symlinks=True))


@pytest.fixture(scope="module")
def remote_session(loopback_host: LoopbackSshd) -> Iterator[SshSession]:
    """One SSH connection for a whole module: corruptions are many, connections are slow."""
    with open_session(loopback_host.profile()) as session:
        yield session


@pytest.fixture
def remote_root(template_root: Path, remote_base: Path) -> Path:
    """The remote datasets root, as a local path for checking only; injectors go through SSH."""
    return Path(shutil.copytree(template_root, remote_base / "root", symlinks=True))
