"""The reference tools, pointed at the same loopback sshd, keys and files as the engine.

rsync and scp go through the system OpenSSH client with the host's own key and known_hosts
and strict host-key checking, so they pay the same connection costs the engine does. They
keep OpenSSH's default cipher order (chacha20-poly1305 first), as an operator's `rsync -a`
would, while the engine puts AES-GCM first; `ssh_extra` lets a run also measure rsync with
the engine's order. Runtime files (locks, leases, temp files) are excluded from rsync, as the
engine never syncs them either.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from usr_harness.dataset.layout import (
    DATASET_LOCK,
    EVENTS_LOCK,
    LEASE_PREFIX,
    TEMP_PREFIX,
    TRANSFER_LOCK,
)
from usr_harness.hosts.loopback import LoopbackSshd

RUNTIME_EXCLUDES = (DATASET_LOCK, EVENTS_LOCK, TRANSFER_LOCK, LEASE_PREFIX + "*", TEMP_PREFIX + "*")


@dataclass(frozen=True)
class SshTarget:
    """How the reference tools reach the loopback host."""

    host: str
    port: int
    user: str
    key: Path
    known_hosts: Path

    @classmethod
    def of(cls, sshd: LoopbackSshd) -> SshTarget:
        return cls(sshd.host, sshd.port, sshd.user, sshd.client_key_path, sshd.known_hosts_path)

    def ssh_options(self) -> list[str]:
        return [
            "-i",
            str(self.key),
            "-o",
            f"UserKnownHostsFile={self.known_hosts}",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "BatchMode=yes",
            "-o",
            "IdentitiesOnly=yes",
        ]

    def ssh_argv(self) -> list[str]:
        return ["ssh", "-p", str(self.port), *self.ssh_options()]

    def ssh_command(self, extra: Sequence[str] = ()) -> str:
        """The `-e` value for rsync (paths here never hold spaces: they are ours)."""
        return " ".join([*self.ssh_argv(), *extra])

    def remote(self, path: Path) -> str:
        return f"{self.user}@{self.host}:{path}"


def rsync_argv(
    target: SshTarget,
    source: str,
    dest: str,
    *,
    checksum: bool = False,
    dry_run: bool = False,
    stats: bool = False,
    ssh_extra: Sequence[str] = (),
) -> list[str]:
    """`rsync -a` (plus `--checksum`, `-n`, `--stats`) from `source` to `dest`, one of them remote."""
    argv = ["rsync", "-a"]
    for wanted, flag in ((checksum, "--checksum"), (dry_run, "-n"), (stats, "--stats")):
        if wanted:
            argv.append(flag)
    argv += [f"--exclude={pattern}" for pattern in RUNTIME_EXCLUDES]
    return [*argv, "-e", target.ssh_command(ssh_extra), source, dest]


def scp_argv(target: SshTarget, source: str, dest: str) -> list[str]:
    """`scp -r` of a folder (OpenSSH 9 scp speaks SFTP underneath)."""
    return ["scp", "-r", "-q", "-P", str(target.port), *target.ssh_options(), source, dest]


def sha256sum_argv(paths: list[Path]) -> list[str]:
    return ["sha256sum", *(str(path) for path in paths)]


def hashlib_sha256(paths: list[Path]) -> list[str]:
    """Hex sha256 of every file, hashed in this process by hashlib."""
    digests = []
    for path in paths:
        with path.open("rb") as handle:
            digests.append(hashlib.file_digest(handle, "sha256").hexdigest())
    return digests


def sha256sum_digests(output: str) -> list[str]:
    """The digests column of sha256sum output, in input order."""
    return [line.split()[0] for line in output.splitlines() if line.strip()]
