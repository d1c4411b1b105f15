"""One remote, expressed the way each engine reads remotes: our remotes YAML, or a Host alias.

Drills describe the remote once as a `RemoteSpec` (where sshd listens, which key,
which known_hosts, which base_dir) and change it as data; each engine profile's
`remote_style` decides what is written for the engine, always inside the
drill's own folder:

- `usr-harness`: a remotes YAML with `port`, `identity_file` and `known_hosts`.
- `ssh-alias`: an engine that runs the system `ssh` (the upstream engine) reads
  the port, key and known_hosts from `~/.ssh/config`. OpenSSH takes `~` from the
  password database, not from `$HOME`, so the engine runs with nss_wrapper (the
  cwrap project's test library, Debian `libnss-wrapper`) preloaded and a passwd
  file whose only change is the home folder: no shim on PATH, nothing written
  outside the drill's folder. The Host block shares one connection between the
  engine's ssh calls (`ControlMaster auto`, `ControlPersist`), as the upstream
  sync setup runbook's own `~/.ssh/config` entry does; the master belongs to one
  engine command (its socket in a folder of its own) and `release_wiring` stops
  it, so no drill reaches the server through another drill's login.
"""

from __future__ import annotations

import contextlib
import ctypes.util
import grp
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from usr_harness.errors import ConfigError
from usr_harness.hosts.processes import kill_processes, processes_naming

ALIAS_PREFIX = "usr-drill-"


@dataclass(frozen=True)
class RemoteSpec:
    """Everything an engine needs to reach one remote datasets root over SSH."""

    name: str
    host: str
    port: int
    user: str
    base_dir: Path
    identity_file: Path
    known_hosts: Path
    python: str | None = None

    def changed(self, **changes: Any) -> RemoteSpec:
        return replace(self, **changes)

    @property
    def alias(self) -> str:
        return ALIAS_PREFIX + self.name


@dataclass(frozen=True)
class RemoteWiring:
    """What one engine call is given: the remotes file to pass and the environment to add."""

    remotes_config: Path
    env: dict[str, str]
    control_path: Path | None = None


def harness_remotes_document(spec: RemoteSpec) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "type": "ssh",
        "host": spec.host,
        "user": spec.user,
        "port": spec.port,
        "base_dir": str(spec.base_dir),
        "identity_file": str(spec.identity_file),
        "known_hosts": str(spec.known_hosts),
    }
    if spec.python:
        entry["python"] = spec.python
    return {"remotes": {spec.name: entry}}


def alias_remotes_document(spec: RemoteSpec) -> dict[str, Any]:
    entry = {"type": "ssh", "host": spec.alias, "user": spec.user, "base_dir": str(spec.base_dir)}
    return {"remotes": {spec.name: entry}}


def ssh_config_text(spec: RemoteSpec, control_path: Path) -> str:
    """The Host block: strict host keys against the drill's known_hosts only, this key only, and
    one shared connection per engine command (a socket path stays short: sun_path holds 108 bytes)."""
    lines = [
        f"Host {spec.alias}",
        f"  HostName {spec.host}",
        f"  Port {spec.port}",
        f"  User {spec.user}",
        f"  IdentityFile {spec.identity_file}",
        "  IdentitiesOnly yes",
        f"  UserKnownHostsFile {spec.known_hosts}",
        "  GlobalKnownHostsFile /dev/null",
        "  StrictHostKeyChecking yes",
        "  BatchMode yes",
        "  ControlMaster auto",
        f"  ControlPath {control_path}",
        "  ControlPersist 10m",
        "",
    ]
    return "\n".join(lines)


def wire_remote(spec: RemoteSpec, style: str, folder: Path) -> RemoteWiring:
    """Write the remote as `style` expects it under `folder`; the wiring says how to hand it over."""
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "remotes.yaml"
    if style == "usr-harness":
        write_private(config, yaml.safe_dump(harness_remotes_document(spec), sort_keys=False))
        return RemoteWiring(config, {})
    if style != "ssh-alias":
        raise ConfigError(f"unknown remote style {style!r}")
    library = ctypes.util.find_library("nss_wrapper")
    if library is None:
        raise ConfigError(
            "an engine that reads ~/.ssh/config needs nss_wrapper (Debian package libnss-wrapper) "
            "to run with the drill's own HOME"
        )
    home = folder / "home"
    (home / ".ssh").mkdir(parents=True, exist_ok=True)
    (home / ".ssh").chmod(0o700)
    control_path = Path(tempfile.mkdtemp(prefix="usr-cm-")) / "master"
    write_private(home / ".ssh" / "config", ssh_config_text(spec, control_path))
    write_private(config, yaml.safe_dump(alias_remotes_document(spec), sort_keys=False))
    passwd, group = folder / "passwd", folder / "group"
    write_private(passwd, _passwd_line(home) + "\n")
    write_private(group, _group_line() + "\n")
    env = {
        "HOME": str(home),
        "LD_PRELOAD": library,
        "NSS_WRAPPER_PASSWD": str(passwd),
        "NSS_WRAPPER_GROUP": str(group),
    }
    return RemoteWiring(config, env, control_path)


def release_wiring(wiring: RemoteWiring | None) -> None:
    """Stop the command's ssh master, if one started, and remove its socket folder.

    A master that does not answer on its socket (still starting when its engine was killed, or
    its socket gone) is stopped by its process title, which names the socket: else it would
    hold its login open for `ControlPersist`'s ten minutes."""
    if wiring is None or wiring.control_path is None:
        return
    if wiring.control_path.exists():
        with contextlib.suppress(subprocess.TimeoutExpired):
            subprocess.run(
                ["ssh", "-S", str(wiring.control_path), "-O", "exit", "master"],
                capture_output=True,
                timeout=30,
                check=False,
            )
    kill_processes(processes_naming(str(wiring.control_path)))
    shutil.rmtree(wiring.control_path.parent, ignore_errors=True)


def _passwd_line(home: Path) -> str:
    user = pwd.getpwuid(os.getuid())
    return f"{user.pw_name}:x:{user.pw_uid}:{user.pw_gid}:{user.pw_gecos}:{home}:{user.pw_shell}"


def _group_line() -> str:
    group = grp.getgrgid(os.getgid())
    return f"{group.gr_name}:x:{group.gr_gid}:"


def write_private(path: Path, text: str) -> None:
    """0600 from the first byte: ssh refuses a config others can write; `usr` warns on readable ones."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(text)
