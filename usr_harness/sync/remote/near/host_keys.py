"""Host keys: only from the profile's known_hosts, never learned on connect; `usr remotes trust` records one.

An unknown key is refused with its fingerprint shown; a changed key is refused as a possible attack.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from usr_harness.errors import AuthError, ConfigError, TransportError
from usr_harness.sync.remote.near.profiles import RemoteProfile
from usr_harness.sync.remote.near.ssh_library import paramiko


class UnknownHostKey(paramiko.SSHException):
    def __init__(self, key: paramiko.PKey) -> None:
        super().__init__("host key not found in known_hosts")
        self.key = key


class RefuseUnknownHost(paramiko.RejectPolicy):
    """paramiko's RejectPolicy, keeping the offered key so the refusal can show its fingerprint."""

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        raise UnknownHostKey(key)


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
        raise AuthError(mismatch_message(profile, path, key, known[0]), paths=[str(path)])
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


def load_known_hosts(client: paramiko.SSHClient, path: Path) -> None:
    try:
        client.load_system_host_keys(str(path))
    except (OSError, paramiko.SSHException) as error:
        raise ConfigError(f"cannot read known_hosts {path}: {error}", paths=[str(path)]) from None


def mismatch_message(
    profile: RemoteProfile, known_hosts: Path, offered: paramiko.PKey, recorded: paramiko.PKey
) -> str:
    return (
        f"host key for {profile.host_key_name} does not match known_hosts {known_hosts}: the server "
        f"offers {offered.get_name()} {offered.fingerprint}, recorded is {recorded.get_name()} "
        f"{recorded.fingerprint}. This may be an attack; if the host key was changed on purpose, "
        f"remove the old entry (ssh-keygen -R '{profile.host_key_name}' -f {known_hosts}) and run "
        f"`usr remotes trust {profile.name}`"
    )
