"""The container provider: refuses clearly without Docker; with Docker, a real sshd in a container."""

from __future__ import annotations

from pathlib import Path

import pytest

from usr_harness.errors import ConfigError
from usr_harness.hosts.container import CONFIG_MOUNT, ContainerSshd, docker_unavailable
from usr_harness.sync.remote.near.connect import connect_agent


def test_without_docker_start_is_a_config_error_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    assert "Docker does not answer" in docker_unavailable()
    host = ContainerSshd(tmp_path / "host")
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


@pytest.mark.skipif(docker_unavailable() is not None, reason=f"container provider: {docker_unavailable()}")
def test_the_agent_runs_over_ssh_into_the_container(tmp_path: Path) -> None:
    with ContainerSshd(tmp_path / "host") as host:
        with connect_agent(host.profile()) as agent:
            assert agent.hello["base_dir"] == str(host.base_dir)
            assert agent.hello["python"].startswith("3.")
        assert host.connection_count() >= 1
