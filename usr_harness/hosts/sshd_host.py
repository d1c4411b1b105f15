"""What every harness-started OpenSSH host shares: its own keys, a strict sshd config, profiles for it.

A host never reuses anyone's keys and never learns a key on first use: the harness
writes the host key itself, so the known_hosts line it hands out is the truth.
"""

from __future__ import annotations

import os
import platform
import pwd
import sys
from abc import ABC, abstractmethod
from pathlib import Path
from types import TracebackType
from typing import Self

import yaml

from usr_harness.engines.remotes import RemoteSpec, write_private
from usr_harness.hosts.keys import write_ed25519_keypair
from usr_harness.sync.remote import RemoteProfile

_STRICT_OPTIONS = (
    "PubkeyAuthentication yes",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "PermitRootLogin prohibit-password",
    "UsePAM no",
    "StrictModes no",
    "UseDNS no",
    "LogLevel VERBOSE",
    "MaxSessions 64",
    "MaxStartups 64:30:256",
    "X11Forwarding no",
    "PrintMotd no",
    "PrintLastLog no",
    "Subsystem sftp internal-sftp",
)


class SshdHost(ABC):
    """Keys, known_hosts and remote profiles of one throwaway sshd; subclasses start and stop it."""

    host = "127.0.0.1"
    provider = "sshd"

    def __init__(
        self, workdir: Path, *, user: str | None = None, remote_python: str = sys.executable
    ) -> None:
        self.workdir = Path(workdir).absolute()
        self.user = user or pwd.getpwuid(os.getuid()).pw_name
        self.remote_python = remote_python
        self.port = 0
        self.host_key_path = self.workdir / "ssh_host_ed25519_key"
        self.client_key_path = self.workdir / "client_ed25519"
        self.authorized_keys_path = self.workdir / "authorized_keys"
        self.known_hosts_path = self.workdir / "known_hosts"
        self.config_path = self.workdir / "sshd_config"
        self.base_dir = self.workdir / "remote"

    @abstractmethod
    def start(self) -> Self:
        """Start the server; return once a real SSH login works."""

    @abstractmethod
    def stop(self) -> None: ...

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def describe(self) -> dict[str, str]:
        """Where the remote runs, for reports: this machine's OS and Python (a container says its own)."""
        try:
            system = platform.freedesktop_os_release().get("PRETTY_NAME", platform.platform())
        except OSError:
            system = platform.platform()
        return {"provider": self.provider, "os": system, "python": platform.python_version()}

    def profile(
        self,
        name: str = "loopback",
        *,
        python: str | None = None,
        base_dir: Path | None = None,
        client: str = "paramiko",
    ) -> RemoteProfile:
        """A remote profile reaching this host (base_dir defaults to the host's own)."""
        return RemoteProfile(
            name=name,
            type="ssh",
            host=self.host,
            user=self.user,
            base_dir=str(base_dir or self.base_dir),
            port=self.port,
            identity_file=str(self.client_key_path),
            known_hosts=str(self.known_hosts_path),
            python=python or self.remote_python,
            client=client,
        )

    def remote_spec(self, name: str = "loopback", *, base_dir: Path | None = None) -> RemoteSpec:
        """This host as engine-neutral data: each engine profile writes it in its own form."""
        return RemoteSpec(
            name=name,
            host=self.host,
            port=self.port,
            user=self.user,
            base_dir=Path(base_dir or self.base_dir),
            identity_file=self.client_key_path,
            known_hosts=self.known_hosts_path,
            python=self.remote_python,
        )

    def remotes_yaml(
        self,
        name: str = "loopback",
        *,
        python: str | None = None,
        base_dir: Path | None = None,
        client: str = "paramiko",
    ) -> str:
        """The remotes YAML document with this host's profile, ready for `--remotes-config`."""
        fields = self.profile(name, python=python, base_dir=base_dir, client=client).as_dict()
        del fields["name"]
        settings = {key: value for key, value in fields.items() if value is not None}
        return yaml.safe_dump({"remotes": {name: settings}}, sort_keys=False)

    def write_remotes_yaml(
        self,
        path: Path,
        name: str = "loopback",
        *,
        python: str | None = None,
        base_dir: Path | None = None,
        client: str = "paramiko",
    ) -> Path:
        """Written 0600: `usr` warns about a profiles file other users can read."""
        write_private(path, self.remotes_yaml(name, python=python, base_dir=base_dir, client=client))
        return path

    def _write_keys(self) -> None:
        """A private 0700 folder with fresh host and client keys and the client's authorized_keys."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.workdir.chmod(0o700)
        self.base_dir.mkdir(exist_ok=True)
        write_ed25519_keypair(self.host_key_path, f"usr-{self.provider}-host")
        client_line = write_ed25519_keypair(self.client_key_path, f"usr-{self.provider}-client-{self.user}")
        self.authorized_keys_path.write_text(client_line + "\n", encoding="utf-8")
        self.authorized_keys_path.chmod(0o600)

    def _write_known_hosts(self) -> None:
        """The one line that lets a client trust this host at its current address and port."""
        public = self.host_key_path.with_name(self.host_key_path.name + ".pub").read_text().split()
        self.known_hosts_path.write_text(f"[{self.host}]:{self.port} {public[0]} {public[1]}\n")

    def _write_sshd_config(self, *site_lines: str) -> None:
        """`site_lines` (listen address, key paths as sshd sees them) followed by the strict options."""
        self.config_path.write_text("\n".join([*site_lines, *_STRICT_OPTIONS, ""]))
