"""The relay between paramiko and the real loopback sshd: transparent, or a clean failure at byte N."""

from __future__ import annotations

import hashlib
import io
import os
import time
from pathlib import Path

import paramiko
import pytest

from usr_harness.errors import TransportError
from usr_harness.faults.relay import SERVER_TO_CLIENT, FaultRelay, RelayPlan, relay_spec
from usr_harness.hosts.loopback import LoopbackSshd
from usr_harness.pytest_plugin import DrillRemote

FILE_BYTES = 2 << 20


@pytest.fixture
def remote_file(remote_base: Path) -> Path:
    path = remote_base / "payload.bin"
    path.write_bytes(os.urandom(FILE_BYTES))
    return path


def fetch(loopback_host: LoopbackSshd, relay: FaultRelay, known_hosts: Path, path: Path) -> bytes:
    remote = DrillRemote(relay_spec(loopback_host.remote_spec(), relay, known_hosts))
    with remote.session() as session:
        sink = io.BytesIO()
        # No prefetch: its reader thread would raise the cut outside the test, as a stray warning.
        session.sftp().getfo(str(path), sink, prefetch=False)
        return sink.getvalue()


def test_pass_through_relay_is_transparent(
    loopback_host: LoopbackSshd, remote_file: Path, tmp_path: Path
) -> None:
    with FaultRelay(loopback_host.host, loopback_host.port) as relay:
        data = fetch(loopback_host, relay, tmp_path / "known_hosts", remote_file)
        assert relay.wait_idle()
        assert relay.stats.server_to_client > FILE_BYTES
    assert hashlib.sha256(data).digest() == hashlib.sha256(remote_file.read_bytes()).digest()


def test_seeded_cut_mid_transfer_fails_cleanly_at_the_same_byte(
    loopback_host: LoopbackSshd, remote_file: Path, tmp_path: Path
) -> None:
    plan = RelayPlan.from_seed(
        42, "cut", min_bytes=200_000, max_bytes=FILE_BYTES // 2, direction=SERVER_TO_CLIENT
    )
    outcomes = []
    for attempt in range(2):
        with FaultRelay(loopback_host.host, loopback_host.port, plan=plan) as relay:
            started = time.monotonic()
            # paramiko's reader thread races the SFTP call, so the exception class varies; the
            # outcome that must repeat is: the transfer fails, promptly, at the same byte.
            with pytest.raises((paramiko.SSHException, EOFError, OSError, TransportError)):
                fetch(loopback_host, relay, tmp_path / f"known_hosts-{attempt}", remote_file)
            assert time.monotonic() - started < 10
            assert relay.wait_idle()
            stats = relay.stats
        outcomes.append((stats.fired_at, stats.server_to_client, stats.per_connection[0].ended_by))
    assert outcomes[0] == outcomes[1] == (plan.after_bytes, plan.after_bytes, "fault")
