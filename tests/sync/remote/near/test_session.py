"""SshSession against the real loopback sshd: one connection per session, strict host keys, fast refusals."""

from __future__ import annotations

import dataclasses
import socket
import time
from pathlib import Path

import paramiko
import psutil
import pytest

from usr_harness.errors import AuthError, ConfigError, TransportError
from usr_harness.hosts.keys import write_ed25519_keypair
from usr_harness.hosts.loopback import LoopbackSshd
from usr_harness.sync.remote.near.connect import connect_agent
from usr_harness.sync.remote.near.host_keys import fetch_host_key, trust_host_key
from usr_harness.sync.remote.near.profiles import RemoteProfile
from usr_harness.sync.remote.near.session import open_session

pytestmark = pytest.mark.ssh


@pytest.fixture
def profile(loopback_host: LoopbackSshd, remote_base: Path) -> RemoteProfile:
    return loopback_host.profile(base_dir=remote_base)


def test_one_connection_carries_every_channel(loopback_host: LoopbackSshd, profile: RemoteProfile) -> None:
    before = loopback_host.connection_count()
    with open_session(profile) as session:
        result = session.run("cat; echo oops >&2; exit 3", stdin=b"x" * 300_000)
        channel = session.exec_channel("echo second")
        assert channel.makefile("rb").read() == b"second\n"
        assert channel.recv_exit_status() == 0
        assert session.sftp() is session.sftp()
        assert session.sftp().listdir(profile.base_dir) == []
    assert (result.exit_status, len(result.stdout), result.stderr) == (3, 300_000, b"oops\n")
    assert loopback_host.connection_count() == before + 1


def test_run_timeout_is_a_transport_error(profile: RemoteProfile) -> None:
    with open_session(profile) as session, pytest.raises(TransportError, match=r"timed out after 0\.3 s"):
        session.run("sleep 5", timeout=0.3)


def test_unknown_host_key_is_refused_with_how_to_trust(profile: RemoteProfile, tmp_path: Path) -> None:
    empty = dataclasses.replace(profile, known_hosts=str(tmp_path / "known_hosts"))
    with pytest.raises(AuthError) as caught:
        open_session(empty)
    message = caught.value.message
    assert f"host key for [127.0.0.1]:{profile.port} is not known" in message
    assert "usr remotes trust loopback" in message and "SHA256:" in message
    assert not (tmp_path / "known_hosts").exists()


def test_trust_records_the_key_then_connects(profile: RemoteProfile, tmp_path: Path) -> None:
    fresh = dataclasses.replace(profile, known_hosts=str(tmp_path / "ssh/known_hosts"))
    fingerprint = trust_host_key(fresh)
    assert fingerprint == fetch_host_key(profile.host, profile.port).fingerprint
    assert trust_host_key(fresh) == fingerprint
    assert len(Path(fresh.known_hosts).read_text().splitlines()) == 1
    with open_session(fresh) as session:
        assert session.run("true").exit_status == 0


def test_changed_host_key_is_refused(profile: RemoteProfile, tmp_path: Path) -> None:
    impostor = write_ed25519_keypair(tmp_path / "other_host_key", "other").split()
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(f"{profile.host_key_name} {impostor[0]} {impostor[1]}\n")
    changed = dataclasses.replace(profile, known_hosts=str(known_hosts))
    with pytest.raises(AuthError, match=r"does not match known_hosts.*ssh-keygen -R"):
        open_session(changed)
    with pytest.raises(AuthError, match="does not match"):
        trust_host_key(changed)


def test_wrong_client_key_fails_fast(profile: RemoteProfile, tmp_path: Path) -> None:
    write_ed25519_keypair(tmp_path / "stranger", "stranger")
    stranger = dataclasses.replace(profile, identity_file=str(tmp_path / "stranger"))
    started = time.monotonic()
    with pytest.raises(AuthError, match="authentication refused"):
        open_session(stranger)
    assert time.monotonic() - started < 3


def test_no_key_and_no_agent_is_an_auth_error(profile: RemoteProfile, monkeypatch) -> None:
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    with pytest.raises(AuthError, match="set identity_file or ssh_key_env"):
        open_session(dataclasses.replace(profile, identity_file=None))


def test_missing_key_is_a_config_error_before_connecting(
    loopback_host: LoopbackSshd, profile: RemoteProfile, tmp_path: Path
) -> None:
    before = loopback_host.connection_count()
    with pytest.raises(ConfigError, match="does not exist"):
        open_session(dataclasses.replace(profile, identity_file=str(tmp_path / "absent")))
    assert loopback_host.connection_count() == before


def test_encrypted_key_is_refused_without_prompting(profile: RemoteProfile, tmp_path: Path) -> None:
    key_path = tmp_path / "locked"
    key = paramiko.RSAKey.generate(1024)
    key.write_private_key_file(str(key_path), password="secret")
    with pytest.raises(ConfigError, match="passphrase-protected"):
        open_session(dataclasses.replace(profile, identity_file=str(key_path)))


def test_refused_port_is_a_transport_error(profile: RemoteProfile) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    with pytest.raises(TransportError, match="connection refused"):
        open_session(dataclasses.replace(profile, port=closed_port))


def test_silent_server_times_out_as_transport_error(profile: RemoteProfile) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        started = time.monotonic()
        with pytest.raises(TransportError):
            open_session(dataclasses.replace(profile, port=silent.getsockname()[1]), connect_timeout=0.5)
    assert time.monotonic() - started < 3


def test_a_connection_dropped_during_login_is_transport_not_auth(profile: RemoteProfile) -> None:
    """paramiko reports a peer that vanished mid-login as an AuthenticationException: not a key problem."""
    from usr_harness.sync.remote.near.session import _translate

    dropped = paramiko.AuthenticationException("Authentication failed: transport shut down or saw EOF")
    error = _translate(profile, Path(profile.known_hosts), dropped)
    assert isinstance(error, TransportError) and "dropped during login" in error.message
    refused = _translate(
        profile, Path(profile.known_hosts), paramiko.AuthenticationException("Authentication failed.")
    )
    assert isinstance(refused, AuthError)


def test_the_engines_login_refuses_a_missing_key_before_connecting_too(
    loopback_host: LoopbackSshd, profile: RemoteProfile, tmp_path: Path
) -> None:
    """`connect_agent` opens its TCP connection before paramiko loads: only after the key is found."""
    before = loopback_host.connection_count()
    with (
        pytest.raises(ConfigError, match="does not exist"),
        connect_agent(dataclasses.replace(profile, identity_file=str(tmp_path / "absent"))),
    ):
        pass
    with open_session(profile):  # a login after it: sshd has logged any connection made before by then
        pass
    assert loopback_host.connection_count() == before + 1


def test_a_key_refused_after_the_early_connection_leaves_no_connection_open(
    loopback_host: LoopbackSshd, profile: RemoteProfile, tmp_path: Path
) -> None:
    key_path = tmp_path / "locked"
    paramiko.RSAKey.generate(1024).write_private_key_file(str(key_path), password="secret")
    with (
        pytest.raises(ConfigError, match="passphrase-protected") as refused,
        connect_agent(dataclasses.replace(profile, identity_file=str(key_path))),
    ):
        pass
    assert refused.traceback  # the failed frames, the early socket's included, are still alive here
    ours = psutil.Process().net_connections(kind="tcp")
    assert [
        c for c in ours if c.raddr and c.raddr.port == loopback_host.port and c.status == "ESTABLISHED"
    ] == []
