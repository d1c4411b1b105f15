"""Remote profiles: the YAML an operator writes to name an SSH remote, validated strictly.

There is no implicit default file: a sync that silently picked up the wrong
profile could overwrite irreplaceable data, so the path must be given with
`--remotes-config` or `USR_REMOTES_PATH`. Unknown keys and duplicate keys are
refused for the same reason (a typo must not silently fall back to a default).
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from usr_harness.errors import ConfigError

ENV_VAR = "USR_REMOTES_PATH"
SUPPORTED_TYPES = ("ssh",)
SUPPORTED_CLIENTS = ("paramiko", "openssh", "local")
DEFAULT_KNOWN_HOSTS = "~/.ssh/known_hosts"

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_REQUIRED = ("type", "host", "user", "base_dir")
_LOCAL_PATH_KEYS = ("identity_file", "known_hosts", "local_repo_root")
_OPTIONAL_STRING_KEYS = ("ssh_key_env", "repo_root", *_LOCAL_PATH_KEYS)


@dataclass(frozen=True)
class RemoteProfile:
    """One named remote; local paths may start with `~` and are expanded only when used."""

    name: str
    type: str
    host: str
    user: str
    base_dir: str
    port: int = 22
    batch_mode: bool = True
    ssh_key_env: str | None = None
    identity_file: str | None = None
    known_hosts: str | None = None
    python: str = "python3"
    client: str = "paramiko"
    repo_root: str | None = None
    local_repo_root: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def target(self) -> str:
        """`user@host:port`, the form messages use to name the remote."""
        return f"{self.user}@{self.host}:{self.port}"

    @property
    def host_key_name(self) -> str:
        """The name OpenSSH and paramiko file the host key under: `host`, or `[host]:port` off port 22."""
        return self.host if self.port == 22 else f"[{self.host}]:{self.port}"

    def known_hosts_path(self) -> Path:
        return Path(self.known_hosts or DEFAULT_KNOWN_HOSTS).expanduser()

    def key_path(self) -> Path | None:
        """The private key to authenticate with, or None to use the SSH agent; warns about a key
        other users can read (see `existing_key_path` for the rest)."""
        path = self.existing_key_path()
        if path is None:
            return None
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            warn(
                f"private key {path} of remote {self.name} is accessible by other users "
                f"(mode {mode:04o}); ssh refuses such keys: chmod 600 {path}"
            )
        return path

    def existing_key_path(self) -> Path | None:
        """The configured private key, or None to use the SSH agent.

        `ssh_key_env` (an environment variable holding the key's path) wins over
        `identity_file` when the variable is set. A configured key that cannot be
        found is a ConfigError, never a silent fall back to other keys.
        """
        raw, origin = self._key_source()
        if raw is None:
            return None
        path = Path(raw).expanduser()
        if not path.is_file():
            raise ConfigError(
                f"remote {self.name}: private key {path} ({origin}) does not exist", paths=[str(path)]
            )
        return path

    def _key_source(self) -> tuple[str | None, str]:
        if self.ssh_key_env:
            value = os.environ.get(self.ssh_key_env, "")
            if value:
                return value, f"from ${self.ssh_key_env}"
            if not self.identity_file:
                raise ConfigError(
                    f"remote {self.name}: ssh_key_env names ${self.ssh_key_env}, which is not set; "
                    "export it with the path of the private key"
                )
        if self.identity_file:
            return self.identity_file, "identity_file"
        return None, ""


def warn(message: str) -> None:
    """One `WARNING:` line on stderr: worth fixing, never a reason to stop a sync."""
    print(f"WARNING: {message}", file=sys.stderr)


def resolve_remotes_path(path: Path | None) -> Path:
    """The profiles file to read: the explicit path, else $USR_REMOTES_PATH; it must exist."""
    if path is None:
        value = os.environ.get(ENV_VAR, "")
        if not value:
            raise ConfigError(f"no remote profiles configured: pass --remotes-config FILE or set {ENV_VAR}")
        path = Path(value)
    path = path.expanduser()
    if not path.is_file():
        raise ConfigError(f"remote profiles file {path} does not exist", paths=[str(path)])
    return path


def load_profiles(path: Path | None) -> dict[str, RemoteProfile]:
    """Read and validate every profile of the file `resolve_remotes_path(path)` names."""
    source = resolve_remotes_path(path)
    mode = source.stat().st_mode & 0o777
    if mode & 0o004:
        warn(f"remote profiles file {source} is readable by every user (mode {mode:04o}): chmod 600 {source}")
    document = _read_yaml(source)
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise ConfigError(f"{source}: expected a mapping with a `remotes:` key", paths=[str(source)])
    extra = sorted(set(document) - {"remotes"})
    if extra:
        raise ConfigError(
            f"{source}: unknown top-level key(s) {', '.join(map(str, extra))}; expected only `remotes`",
            paths=[str(source)],
        )
    remotes = document.get("remotes") or {}
    if not isinstance(remotes, dict):
        raise ConfigError(f"{source}: `remotes` must be a mapping of name -> profile", paths=[str(source)])
    return {str(name): _build(str(name), entry, source) for name, entry in remotes.items()}


def get_profile(name: str, path: Path | None) -> RemoteProfile:
    """The profile called `name`; an unknown name lists the ones the file has."""
    profiles = load_profiles(path)
    if name not in profiles:
        known = ", ".join(sorted(profiles)) or "(none)"
        source = resolve_remotes_path(path)
        raise ConfigError(f"unknown remote {name!r} in {source}; known remotes: {known}", paths=[str(source)])
    return profiles[name]


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys instead of keeping the last one."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _read_yaml(source: Path) -> Any:
    try:
        return yaml.load(source.read_text(encoding="utf-8"), Loader=_StrictLoader)
    except yaml.YAMLError as error:
        raise ConfigError(yaml_problem(source, error), paths=[str(source)]) from error
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{source}: cannot read: {error}", paths=[str(source)]) from error


def yaml_problem(source: Path, error: yaml.YAMLError) -> str:
    """`FILE:LINE:COL: invalid YAML: problem (context)` on one line, as a compiler says it;
    PyYAML's own text spans lines and names the text as `<unicode string>`."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None)
    if mark is None or not problem:
        return f"{source}: invalid YAML: {' '.join(str(error).split())}"
    context = getattr(error, "context", None)
    while_ = f" ({context})" if context else ""
    return f"{source}:{mark.line + 1}:{mark.column + 1}: invalid YAML: {problem}{while_}"


def _build(name: str, entry: Any, source: Path) -> RemoteProfile:
    where = f"{source}: remote {name!r}"

    def fail(message: str) -> ConfigError:
        return ConfigError(f"{where}: {message}", paths=[str(source)])

    if not _NAME_RE.match(name):
        raise fail("names may use letters, digits, '.', '_' and '-' only")
    if not isinstance(entry, dict):
        raise fail("must be a mapping of settings")
    fields = {f.name: f for f in dataclasses.fields(RemoteProfile) if f.name != "name"}
    unknown = sorted(set(map(str, entry)) - set(fields))
    if unknown:
        raise fail(f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(fields)}")
    missing = [key for key in _REQUIRED if entry.get(key) in (None, "")]
    if missing:
        raise fail(f"missing required key(s) {', '.join(missing)}")
    if entry["type"] not in SUPPORTED_TYPES:
        raise fail(f"unsupported type {entry['type']!r}; supported: {', '.join(SUPPORTED_TYPES)}")
    values = dict(entry)
    for key in ("type", "host", "user", "base_dir", "python", "client"):
        if key in values and (not isinstance(values[key], str) or not values[key].strip()):
            raise fail(f"{key} must be a non-empty string")
    for key in _OPTIONAL_STRING_KEYS:
        if values.get(key) is not None and (not isinstance(values[key], str) or not values[key]):
            raise fail(f"{key} must be a non-empty string or absent")
    port = values.get("port", 22)
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise fail(f"port must be an integer 1-65535, got {port!r}")
    if not isinstance(values.get("batch_mode", True), bool):
        raise fail("batch_mode must be true or false")
    if values.get("ssh_key_env") and not _ENV_NAME_RE.match(values["ssh_key_env"]):
        raise fail(f"ssh_key_env must name an environment variable, got {values['ssh_key_env']!r}")
    if values.get("client", "paramiko") not in SUPPORTED_CLIENTS:
        raise fail(f"unsupported client {values['client']!r}; supported: {', '.join(SUPPORTED_CLIENTS)}")
    for key in ("base_dir", "repo_root"):
        if values.get(key) and not values[key].startswith(("/", "~")):
            raise fail(f"{key} must be absolute (or start with ~), got {values[key]!r}")
    for key in _LOCAL_PATH_KEYS:
        raw = values.get(key)
        if raw and not raw.startswith("~") and not Path(raw).is_absolute():
            values[key] = str(source.parent.absolute() / raw)
    return RemoteProfile(name=name, **values)
