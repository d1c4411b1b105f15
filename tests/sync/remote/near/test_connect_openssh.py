"""`connect_agent` over paramiko and over the system `ssh`: the same round trips, the same refusals."""

from __future__ import annotations

import dataclasses
import os
import pwd
import socket
import sys
from pathlib import Path

import pytest

from tests.sync.remote.agent_checks import assert_agent_round_trip
from usr_harness.errors import AuthError, ConfigError, TransportError
from usr_harness.hosts.keys import write_ed25519_keypair
from usr_harness.hosts.loopback import LoopbackSshd
from usr_harness.sync.remote.far.pipes import PIPE_BYTES
from usr_harness.sync.remote.near.connect import connect_agent, openssh_argv, ssh_config_args
from usr_harness.sync.remote.near.profiles import RemoteProfile

pytestmark = pytest.mark.ssh

CLIENTS = ("paramiko", "openssh")


@pytest.fixture(params=CLIENTS)
def profile(request: pytest.FixtureRequest, loopback_host: LoopbackSshd, remote_base: Path) -> RemoteProfile:
    return dataclasses.replace(loopback_host.profile(base_dir=remote_base), client=request.param)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_hello_manifest_and_lock_round_trip(profile: RemoteProfile, remote_base: Path) -> None:
    assert_agent_round_trip(profile, remote_base)


def test_unknown_host_key_is_refused_with_how_to_trust(profile: RemoteProfile, tmp_path: Path) -> None:
    known_hosts = tmp_path / "empty_known_hosts"
    with (
        pytest.raises(AuthError) as caught,
        connect_agent(dataclasses.replace(profile, known_hosts=str(known_hosts))),
    ):
        pass
    assert f"host key for [127.0.0.1]:{profile.port} is not known" in caught.value.message
    assert "usr remotes trust loopback" in caught.value.message
    assert not known_hosts.exists()


def test_changed_host_key_is_refused_and_never_replaced(profile: RemoteProfile, tmp_path: Path) -> None:
    other = write_ed25519_keypair(tmp_path / "impostor", "impostor").split()
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(f"{profile.host_key_name} {other[0]} {other[1]}\n")
    with (
        pytest.raises(AuthError) as caught,
        connect_agent(dataclasses.replace(profile, known_hosts=str(known_hosts))),
    ):
        pass
    message = caught.value.message
    assert "does not match known_hosts" in message and "attack" in message
    assert "ssh-keygen -R" in message and "usr remotes trust loopback" in message
    assert known_hosts.read_text().split()[2] == other[1]


def test_wrong_key_is_an_auth_error(profile: RemoteProfile, tmp_path: Path) -> None:
    write_ed25519_keypair(tmp_path / "stranger", "stranger")
    with (
        pytest.raises(AuthError, match="authentication refused"),
        connect_agent(dataclasses.replace(profile, identity_file=str(tmp_path / "stranger"))),
    ):
        pass


def test_unreachable_host_is_a_transport_error(profile: RemoteProfile) -> None:
    with (
        pytest.raises(TransportError, match="refused"),
        connect_agent(dataclasses.replace(profile, port=closed_port())),
    ):
        pass


def test_missing_base_dir_is_a_config_error(profile: RemoteProfile, remote_base: Path) -> None:
    missing = remote_base / "absent"
    with (
        pytest.raises(ConfigError, match=f"remote base_dir '{missing}' does not exist"),
        connect_agent(dataclasses.replace(profile, base_dir=str(missing))),
    ):
        pass


def test_stderr_noise_never_reaches_the_protocol(profile: RemoteProfile, tmp_path: Path) -> None:
    """300 kB on stderr before the agent starts: more than a pipe holds, so an undrained pipe would hang."""
    noisy = tmp_path / "noisy-python"
    noisy.write_text(f"#!/bin/sh\nhead -c 300000 /dev/zero | tr '\\0' x >&2\nexec {sys.executable} \"$@\"\n")
    noisy.chmod(0o755)
    with connect_agent(dataclasses.replace(profile, python=str(noisy))) as agent:
        assert agent.request({"op": "doctor"})["sha256"]


def test_the_ssh_child_never_prompts_and_keeps_stdout_clean(loopback_host: LoopbackSshd) -> None:
    profile = dataclasses.replace(loopback_host.profile(), client="openssh")
    argv = openssh_argv(profile, "true")
    assert "BatchMode=yes" in argv and "StrictHostKeyChecking=yes" in argv and "-T" in argv
    assert f"UserKnownHostsFile={loopback_host.known_hosts_path}" in argv
    assert argv[-2:] == ["--", "true"] and "-F" not in argv
    assert "BatchMode=yes" not in openssh_argv(dataclasses.replace(profile, batch_mode=False))


def test_home_ssh_config_is_honoured(loopback_host: LoopbackSshd, remote_base: Path) -> None:
    """A host alias that only ~/.ssh/config knows: reachable because ssh read that file."""
    config = Path.home() / ".ssh" / "config"
    config.parent.mkdir(mode=0o700)
    config.write_text("Host usr-loopback-alias\n  HostName 127.0.0.1\n")
    assert ssh_config_args() == ["-F", str(config)]
    profile = dataclasses.replace(
        loopback_host.profile(base_dir=remote_base), host="usr-loopback-alias", client="openssh"
    )
    with connect_agent(profile) as agent:
        assert agent.hello["base_dir"] == str(remote_base.resolve())


def test_ssh_reads_its_own_files_when_home_is_its_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", pwd.getpwuid(os.getuid()).pw_dir)
    assert ssh_config_args() == []


def cipher_option(argv: list[str]) -> list[str] | None:
    chosen = [arg for arg in argv if arg.startswith("Ciphers=")]
    return chosen[0].removeprefix("Ciphers=").split(",") if chosen else None


def test_aes_gcm_is_preferred_unless_an_ssh_config_chooses_the_ciphers(
    loopback_host: LoopbackSshd, remote_base: Path
) -> None:
    profile = dataclasses.replace(loopback_host.profile(base_dir=remote_base), client="openssh")
    preferred = cipher_option(openssh_argv(profile, "true"))
    assert preferred is not None and preferred[0] == "aes128-gcm@openssh.com"
    config = Path.home() / ".ssh" / "config"
    config.parent.mkdir(mode=0o700)
    config.write_text("Host *\n  Ciphers chacha20-poly1305@openssh.com\n")
    assert cipher_option(openssh_argv(profile, "true")) is None
    with connect_agent(profile) as agent:
        assert agent.hello["base_dir"] == str(remote_base.resolve())


def test_the_ssh_pipes_hold_a_mebibyte(loopback_host: LoopbackSshd, remote_base: Path) -> None:
    fcntl = pytest.importorskip("fcntl")
    if not hasattr(fcntl, "F_GETPIPE_SZ"):
        pytest.skip("pipe sizes are a Linux feature")
    profile = dataclasses.replace(loopback_host.profile(base_dir=remote_base), client="openssh")
    with connect_agent(profile) as agent:
        for stream in (agent.channel.process.stdin, agent.channel.process.stdout):
            assert fcntl.fcntl(stream.fileno(), fcntl.F_GETPIPE_SZ) == PIPE_BYTES
