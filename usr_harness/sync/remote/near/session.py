"""One authenticated SSH connection per command, with strict host-key checking.

Connections, not bytes, are what make a sync slow (SPEC §5), so a command opens
one `SshSession` and runs every channel over it. Host keys come only from the
profile's known_hosts file and an unknown or changed key is refused, never
learned: `usr remotes trust NAME` is the one place a key gets recorded, after
the operator has seen its fingerprint. Nothing here can prompt for a password.
"""

from __future__ import annotations

import logging
import select
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from usr_harness.errors import AuthError, ConfigError, TransportError
from usr_harness.sync.remote.near.ciphers import FAST_CIPHERS
from usr_harness.sync.remote.near.host_keys import (
    RefuseUnknownHost,
    UnknownHostKey,
    load_known_hosts,
    mismatch_message,
)
from usr_harness.sync.remote.near.profiles import RemoteProfile
from usr_harness.sync.remote.near.ssh_library import paramiko

KEEPALIVE_SECONDS = 15
_READ_CHUNK = 1 << 16
# paramiko's own rekey request races with window adjustments on a busy channel and can stall
# until "Key-exchange timed out" (paramiko issue #822); OpenSSH servers rekey on their own
# schedule (RekeyLimit, 1-4 GB by cipher), which paramiko answers correctly.
_CLIENT_REKEY_LIMIT = 1 << 40

# paramiko's transport thread logs tracebacks for failures we already report as one
# clear line with their family; without a handler Python would print them to stderr.
logging.getLogger("paramiko").addHandler(logging.NullHandler())


@dataclass(frozen=True)
class RemoteResult:
    exit_status: int
    stdout: bytes
    stderr: bytes


class SshSession:
    """An open, authenticated connection to one remote; close it (or use `with`) when done."""

    def __init__(self, profile: RemoteProfile, client: paramiko.SSHClient) -> None:
        self.profile = profile
        self.client = client
        self._sftp: paramiko.SFTPClient | None = None

    def __enter__(self) -> SshSession:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    @property
    def transport(self) -> paramiko.Transport:
        transport = self.client.get_transport()
        if transport is None or not transport.is_active():
            raise TransportError(f"remote {self.profile.name} ({self.profile.target}): connection is closed")
        return transport

    def exec_channel(self, command: str) -> paramiko.Channel:
        """Start `command` on a new channel of this connection (no new TCP connection or login)."""
        try:
            channel = self.transport.open_session()
            channel.exec_command(command)
        except (paramiko.SSHException, OSError) as error:
            raise TransportError(
                f"remote {self.profile.name} ({self.profile.target}): cannot start a command: {error}"
            ) from None
        return channel

    def run(self, command: str, *, timeout: float = 30.0, stdin: bytes | None = None) -> RemoteResult:
        """Run `command` to completion and collect its output; exceeding `timeout` is a TransportError."""
        channel = self.exec_channel(command)
        try:
            return _collect(channel, stdin, time.monotonic() + timeout)
        except TimeoutError:
            raise TransportError(
                f"remote {self.profile.name} ({self.profile.target}): command timed out after "
                f"{timeout:g} s: {command}"
            ) from None
        except ConnectionError as error:
            raise TransportError(f"remote {self.profile.name} ({self.profile.target}): {error}") from None
        finally:
            channel.close()

    def sftp(self) -> paramiko.SFTPClient:
        """The session's SFTP client, opened on first use and then reused."""
        if self._sftp is None:
            try:
                self._sftp = paramiko.SFTPClient.from_transport(self.transport)
            except (paramiko.SSHException, OSError) as error:
                raise TransportError(
                    f"remote {self.profile.name} ({self.profile.target}): cannot open SFTP: {error}"
                ) from None
            if self._sftp is None:
                raise TransportError(f"remote {self.profile.name}: the server refused the SFTP subsystem")
        return self._sftp

    def close(self) -> None:
        if self._sftp is not None:
            self._sftp.close()
            self._sftp = None
        self.client.close()


def open_session(
    profile: RemoteProfile, *, connect_timeout: float = 10.0, sock: socket.socket | None = None
) -> SshSession:
    """Connect and authenticate, mapping every failure to config, auth or transport.

    `sock`: a TCP connection to the profile's host and port opened earlier (`prompt_socket.py`).
    """
    key = _load_key(profile)
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(RefuseUnknownHost())
    known_hosts = profile.known_hosts_path()
    if known_hosts.is_file():
        load_known_hosts(client, known_hosts)
    try:
        client.connect(
            profile.host,
            port=profile.port,
            username=profile.user,
            pkey=key,
            look_for_keys=False,
            allow_agent=key is None,
            timeout=connect_timeout,
            banner_timeout=connect_timeout,
            auth_timeout=connect_timeout,
            channel_timeout=connect_timeout,
            transport_factory=_fast_transport,
            sock=sock,
        )
    except BaseException as error:
        client.close()
        raise _translate(profile, known_hosts, error) from None
    transport = client.get_transport()
    assert transport is not None
    transport.set_keepalive(KEEPALIVE_SECONDS)
    return SshSession(profile, client)


def _fast_transport(sock: socket.socket, **options: object) -> paramiko.Transport:
    transport = paramiko.Transport(sock, **options)
    security = transport.get_security_options()
    security.ciphers = FAST_CIPHERS + tuple(c for c in security.ciphers if c not in FAST_CIPHERS)
    transport.packetizer.REKEY_BYTES = transport.packetizer.REKEY_PACKETS = _CLIENT_REKEY_LIMIT
    return transport


def _load_key(profile: RemoteProfile) -> paramiko.PKey | None:
    path = profile.key_path()
    if path is None:
        return None
    try:
        return paramiko.PKey.from_path(path)
    except TypeError:
        raise ConfigError(
            f"remote {profile.name}: private key {path} is passphrase-protected and batch mode cannot "
            "ask for it; load it into ssh-agent and drop identity_file/ssh_key_env from the profile",
            paths=[str(path)],
        ) from None
    except (ValueError, OSError, paramiko.SSHException) as error:
        raise ConfigError(
            f"remote {profile.name}: cannot load private key {path}: {error}", paths=[str(path)]
        ) from None


def _translate(profile: RemoteProfile, known_hosts: Path, error: BaseException) -> BaseException:
    where = f"remote {profile.name} ({profile.target})"
    if isinstance(error, UnknownHostKey):
        return AuthError(
            f"{where}: host key for {profile.host_key_name} is not known; run "
            f"`usr remotes trust {profile.name}` to check its fingerprint ({error.key.fingerprint}) "
            f"and record it in {known_hosts}",
            paths=[str(known_hosts)],
        )
    if isinstance(error, paramiko.BadHostKeyException):
        return AuthError(
            f"{where}: " + mismatch_message(profile, known_hosts, error.key, error.expected_key),
            paths=[str(known_hosts)],
        )
    if isinstance(error, paramiko.AuthenticationException) and "transport shut down" in str(error):
        return TransportError(f"{where}: the connection dropped during login ({error})")
    if isinstance(error, paramiko.AuthenticationException):
        return AuthError(f"{where}: authentication refused ({error}); {_auth_hint(profile)}")
    if isinstance(error, paramiko.SSHException) and "No authentication methods" in str(error):
        return AuthError(f"{where}: no key to authenticate with; {_auth_hint(profile)}")
    if isinstance(error, paramiko.ssh_exception.NoValidConnectionsError):
        return TransportError(f"{where}: connection refused (is sshd listening on port {profile.port}?)")
    if isinstance(error, TimeoutError):
        return TransportError(f"{where}: connection timed out")
    if isinstance(error, (OSError, paramiko.SSHException, EOFError)):
        return TransportError(f"{where}: cannot connect: {error or type(error).__name__}")
    return error


def _auth_hint(profile: RemoteProfile) -> str:
    if profile.ssh_key_env or profile.identity_file:
        return "check that the profile's key is in the remote user's authorized_keys"
    return "set identity_file or ssh_key_env in the profile, or load a key into ssh-agent"


def _collect(channel: paramiko.Channel, stdin: bytes | None, deadline: float) -> RemoteResult:
    """Feed stdin from a thread while draining stdout and stderr, so neither side can block the other."""
    feeder = threading.Thread(target=_feed, args=(channel, stdin or b""), daemon=True)
    feeder.start()
    stdout, stderr = bytearray(), bytearray()
    while True:
        if channel.recv_ready():
            stdout += channel.recv(_READ_CHUNK)
        elif channel.recv_stderr_ready():
            stderr += channel.recv_stderr(_READ_CHUNK)
        elif channel.eof_received or channel.closed:
            break
        else:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            select.select([channel], [], [], remaining)
    if not channel.status_event.wait(max(deadline - time.monotonic(), 0)):
        raise TimeoutError
    if channel.exit_status == -1 and not channel.get_transport().is_active():
        raise ConnectionError("connection lost before the command finished")
    return RemoteResult(channel.recv_exit_status(), bytes(stdout), bytes(stderr))


def _feed(channel: paramiko.Channel, data: bytes) -> None:
    try:
        if data:
            channel.sendall(data)
        channel.shutdown_write()
    except OSError:
        return
