"""One authenticated SSH connection per command, with strict host-key checking.

Connections, not bytes, are what make a sync slow (SPEC §5), so a command opens
one `SshSession` and runs every channel over it. Host keys come only from the
profile's known_hosts file and an unknown or changed key is refused, never
learned: `usr remotes trust NAME` is the one place a key gets recorded, after
the operator has seen its fingerprint. Nothing here can prompt for a password.
"""

from __future__ import annotations

import logging
import os
import select
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import paramiko

from usr_harness.errors import AuthError, ConfigError, TransportError
from usr_harness.sync.remote.near.profiles import RemoteProfile

KEEPALIVE_SECONDS = 15
_READ_CHUNK = 1 << 16
# AES-GCM needs no separate MAC pass: measured 311 vs 186 MB/s sending with aes128-ctr +
# hmac-sha2-256 on loopback. Only the order changes; a server without GCM still negotiates.
FAST_CIPHERS = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com")
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


class _UnknownHostKey(paramiko.SSHException):
    def __init__(self, key: paramiko.PKey) -> None:
        super().__init__("host key not found in known_hosts")
        self.key = key


class _RefuseUnknownHost(paramiko.RejectPolicy):
    """paramiko's RejectPolicy, keeping the offered key so the refusal can show its fingerprint."""

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        raise _UnknownHostKey(key)


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


def open_session(profile: RemoteProfile, *, connect_timeout: float = 10.0) -> SshSession:
    """Connect and authenticate, mapping every failure to config, auth or transport."""
    key = _load_key(profile)
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(_RefuseUnknownHost())
    known_hosts = profile.known_hosts_path()
    if known_hosts.is_file():
        _load_known_hosts(client, known_hosts)
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


def fetch_host_key(host: str, port: int, timeout: float = 10.0) -> paramiko.PKey:
    """The host key the server offers, read from the key exchange alone (no login)."""
    where = f"{host}:{port}"
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError as error:
        raise TransportError(f"cannot reach {where}: {error}") from None
    transport = paramiko.Transport(sock)
    transport.banner_timeout = timeout
    try:
        transport.start_client(timeout=timeout)
        return transport.get_remote_server_key()
    except (paramiko.SSHException, OSError, EOFError) as error:
        raise TransportError(f"no SSH key exchange with {where}: {error}") from None
    finally:
        transport.close()


def known_host_keys(profile: RemoteProfile) -> list[paramiko.PKey]:
    """The keys the profile's known_hosts holds for its `[host]:port` name."""
    path = profile.known_hosts_path()
    if not path.is_file():
        return []
    keys = paramiko.HostKeys()
    try:
        keys.load(str(path))
    except (OSError, paramiko.SSHException) as error:
        raise ConfigError(f"cannot read known_hosts {path}: {error}", paths=[str(path)]) from None
    entry = keys.lookup(profile.host_key_name)
    return list(entry.values()) if entry else []


def trust_host_key(profile: RemoteProfile, key: paramiko.PKey | None = None) -> str:
    """Record the host's key in the profile's known_hosts and return its SHA256 fingerprint.

    Pass the `key` already shown to the operator so the recorded key is the one
    they confirmed. A host that already has a different key recorded is refused:
    replacing a key is a deliberate act (`ssh-keygen -R`), never a side effect.
    """
    key = key or fetch_host_key(profile.host, profile.port)
    known = known_host_keys(profile)
    if any(existing == key for existing in known):
        return key.fingerprint
    path = profile.known_hosts_path()
    if known:
        raise AuthError(_mismatch_message(profile, path, key, known[0]), paths=[str(path)])
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    prefix = b""
    if path.is_file() and path.stat().st_size:
        with path.open("rb") as handle:
            handle.seek(-1, 2)
            prefix = b"" if handle.read(1) == b"\n" else b"\n"
    line = f"{profile.host_key_name} {key.get_name()} {key.get_base64()}\n".encode()
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(descriptor, "ab") as handle:
        handle.write(prefix + line)
    return key.fingerprint


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


def _load_known_hosts(client: paramiko.SSHClient, path: Path) -> None:
    try:
        client.load_system_host_keys(str(path))
    except (OSError, paramiko.SSHException) as error:
        raise ConfigError(f"cannot read known_hosts {path}: {error}", paths=[str(path)]) from None


def _translate(profile: RemoteProfile, known_hosts: Path, error: BaseException) -> BaseException:
    where = f"remote {profile.name} ({profile.target})"
    if isinstance(error, _UnknownHostKey):
        return AuthError(
            f"{where}: host key for {profile.host_key_name} is not known; run "
            f"`usr remotes trust {profile.name}` to check its fingerprint ({error.key.fingerprint}) "
            f"and record it in {known_hosts}",
            paths=[str(known_hosts)],
        )
    if isinstance(error, paramiko.BadHostKeyException):
        return AuthError(
            f"{where}: " + _mismatch_message(profile, known_hosts, error.key, error.expected_key),
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


def _mismatch_message(
    profile: RemoteProfile, known_hosts: Path, offered: paramiko.PKey, recorded: paramiko.PKey
) -> str:
    return (
        f"host key for {profile.host_key_name} does not match known_hosts {known_hosts}: the server "
        f"offers {offered.get_name()} {offered.fingerprint}, recorded is {recorded.get_name()} "
        f"{recorded.fingerprint}. This may be an attack; if the host key was changed on purpose, "
        f"remove the old entry (ssh-keygen -R '{profile.host_key_name}' -f {known_hosts}) and run "
        f"`usr remotes trust {profile.name}`"
    )


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
