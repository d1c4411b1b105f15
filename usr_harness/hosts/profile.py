"""A real remote named by a profile in the user's remotes file, checked once before any drill runs.

Drills seed the remote tree and read it back in place, so the profile's base_dir must be a folder
this machine shares at the same path (a cluster's shared filesystem, a mount): a remote whose
files the harness cannot see could only be judged by the engine's own word.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from usr_harness.engines.remotes import RemoteSpec
from usr_harness.errors import ConfigError, UsrError
from usr_harness.sync.remote import get_profile, open_session

_DESCRIBE = (
    "{python} -c 'import platform; print(platform.python_version())'; "
    '(. /etc/os-release && echo "$PRETTY_NAME") 2>/dev/null || uname -sr'
)


@dataclass(frozen=True)
class ProfileRemote:
    """The profile as engine-neutral data, and where it runs (OS and Python) for the reports."""

    spec: RemoteSpec
    host: dict[str, str]


def profile_remote(name: str, remotes_path: Path | None = None) -> ProfileRemote:
    """The profile `name`, reachable and drillable, or a ConfigError saying what is missing."""
    profile = get_profile(name, remotes_path)
    if not (profile.identity_file and profile.known_hosts):
        raise ConfigError(f"profile {name} needs identity_file and known_hosts to be drilled")
    base_dir = Path(profile.base_dir).expanduser()
    if not base_dir.is_dir():
        raise ConfigError(
            f"profile {name}: base_dir {base_dir} is not a folder on this machine; drills write and read "
            "the remote tree in place, so it must be shared here at the same path",
            paths=[str(base_dir)],
        )
    python = profile.python or "python3"
    try:
        with open_session(profile) as session:
            result = session.run(_DESCRIBE.format(python=shlex.quote(python)))
    except UsrError as error:
        raise ConfigError(f"profile {name}: no login to {profile.host}: {error.message}") from None
    lines = result.stdout.decode(errors="replace").splitlines()
    if result.exit_status != 0 or len(lines) != 2:
        said = result.stderr.decode(errors="replace").strip()
        raise ConfigError(f"profile {name}: the remote {python} does not answer on {profile.host}: {said}")
    spec = RemoteSpec(
        name=name,
        host=profile.host,
        port=profile.port,
        user=profile.user,
        base_dir=base_dir,
        identity_file=Path(profile.identity_file).expanduser(),
        known_hosts=Path(profile.known_hosts).expanduser(),
        python=profile.python,
    )
    return ProfileRemote(spec, {"provider": "profile", "python": lines[0], "os": lines[1]})
