"""The container provider: refuses clearly without Docker; with Docker, a real sshd on each Debian suite."""

from __future__ import annotations

import socket
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from usr_harness.errors import AuthError, ConfigError
from usr_harness.hosts.container import (
    CONFIG_MOUNT,
    HOST_LABEL,
    OWNER_LABEL,
    SSH_PORT,
    ContainerSshd,
    container_unavailable,
    docker_unavailable,
    remove_orphans,
)
from usr_harness.hosts.debian_image import SUITES
from usr_harness.sync.remote import open_session
from usr_harness.sync.remote.near.connect import connect_agent


def test_without_docker_start_is_a_config_error_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    assert "Docker does not answer" in docker_unavailable()
    assert "Docker does not answer" in container_unavailable("bullseye")
    host = ContainerSshd(tmp_path / "host", suite="bullseye")
    with pytest.raises(ConfigError, match="container provider: Docker does not answer") as caught:
        host.start()
    assert caught.value.exit_code == ConfigError.exit_code
    assert not (tmp_path / "host").exists()


def test_keys_and_config_are_written_for_the_mount_and_the_profile_points_at_them(tmp_path: Path) -> None:
    host = ContainerSshd(tmp_path / "host")
    host._prepare_folder()
    config = (host.config_dir / "sshd_config").read_text()
    assert f"HostKey {CONFIG_MOUNT}/ssh_host_ed25519_key" in config
    assert "PasswordAuthentication no" in config and "UsePAM no" in config
    client_public = host.client_key_path.with_name("client_ed25519.pub").read_text().split()[:2]
    assert (host.config_dir / "authorized_keys").read_text().split()[:2] == client_public
    assert (host.config_dir / "ssh_host_ed25519_key").is_file()
    assert not host.client_key_path.is_relative_to(host.config_dir)  # the private client key is never mounted
    host.host, host.port = "127.0.0.1", 40022
    host._write_known_hosts()
    assert host.known_hosts_path.read_text().startswith("[127.0.0.1]:40022 ssh-ed25519 ")
    profile = host.profile(base_dir=host.base_dir)
    assert (profile.user, profile.python, profile.port) == ("root", "/usr/bin/python3", 40022)


@pytest.mark.parametrize("suite", sorted(SUITES))
def test_the_agent_runs_on_the_suites_own_python_behind_a_loopback_only_port(
    suite: str, tmp_path: Path
) -> None:
    reason = container_unavailable(suite)
    if reason:
        pytest.skip(f"container provider: {reason}")
    with ContainerSshd(tmp_path / "host", suite=suite) as host:
        with connect_agent(host.profile()) as agent:
            assert agent.hello["base_dir"] == str(host.base_dir)
            assert agent.hello["python"].rsplit(".", 1)[0] == SUITES[suite]
        facts = host.describe()
        assert facts["os"].endswith(f"({suite})") and facts["python"] == agent.hello["python"]
        assert facts["image"] == host.recipe.tag and host.image is not None
        assert host.connection_count() >= 1
        attrs = host._container.get_wrapped_container().attrs
        assert attrs["HostConfig"]["PortBindings"][f"{SSH_PORT}/tcp"][0]["HostIp"] == "127.0.0.1"
        assert attrs["Config"]["Labels"][HOST_LABEL] == suite


def test_a_host_key_other_than_the_harness_wrote_is_refused(tmp_path: Path) -> None:
    reason = container_unavailable("bookworm")
    if reason:
        pytest.skip(f"container provider: {reason}")
    with ContainerSshd(tmp_path / "host") as host:
        other = ContainerSshd(tmp_path / "other")
        other._prepare_folder()
        other.port = host.port
        other._write_known_hosts()  # another key recorded for this host's address and port
        wrong = replace(host.profile(), known_hosts=str(other.known_hosts_path))
        with pytest.raises(AuthError, match="does not match known_hosts"), open_session(wrong):
            pass


def test_containers_of_an_ended_owner_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    if docker_unavailable():
        pytest.skip(f"container provider: {docker_unavailable()}")
    import docker

    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    with ContainerSshd(tmp_path / "live") as live:
        client = docker.from_env()
        try:
            orphan = client.containers.create(
                live.recipe.tag,
                labels={HOST_LABEL: "bookworm", OWNER_LABEL: f"{socket.gethostname()}:{ended.pid}"},
            )
            assert remove_orphans(client) == [orphan.name]
            assert live._container.get_wrapped_container().reload() is None  # still there
        finally:
            client.close()
