"""OpenSSH ControlMaster for a profile: is one configured, is it live, open it once.

Sites whose logins need a second factor cannot be reached in batch mode. The
way through is a master connection the operator opens once in a terminal
(`usr remotes warm-auth`); every later `client: openssh` command runs over
its socket without authenticating again. Everything here asks ssh itself
(`ssh -G`, `ssh -O check`) with the same options the agent connection uses,
so the answer is the one the sync will meet.
"""

from __future__ import annotations

import subprocess
from dataclasses import asdict, dataclass

from usr_harness.errors import AuthError, ConfigError, TransportError
from usr_harness.sync.remote.near.connect import fast_cipher_options, openssh_options
from usr_harness.sync.remote.near.profiles import RemoteProfile

CHECK_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class MasterStatus:
    """What ssh reports for the profile's host; `control_path` is None when none is configured."""

    remote: str
    target: str
    client: str
    control_master: str
    control_path: str | None
    control_persist: str
    live: bool
    detail: str

    @property
    def configured(self) -> bool:
        return self.control_path is not None

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "configured": self.configured}


def effective_config(profile: RemoteProfile) -> dict[str, str]:
    """`ssh -G`: the settings ssh would use for this profile, every config file and -o applied."""
    result = _ssh(profile, ["-G"])
    if result.returncode != 0:
        raise ConfigError(f"remote {profile.name}: ssh -G failed: {_last_line(result.stderr)}")
    settings: dict[str, str] = {}
    for line in result.stdout.splitlines():
        key, _, value = line.partition(" ")
        settings.setdefault(key.lower(), value)
    return settings


def master_status(profile: RemoteProfile) -> MasterStatus:
    """The configured ControlMaster settings and whether `ssh -O check` finds a live master."""
    settings = effective_config(profile)
    path = settings.get("controlpath")
    live, detail = False, "no ControlPath configured for this host"
    if path and path != "none":
        result = _ssh(profile, ["-O", "check"])
        live, detail = result.returncode == 0, _last_line(result.stderr) or _last_line(result.stdout)
    else:
        path = None
    return MasterStatus(
        remote=profile.name,
        target=profile.target,
        client=profile.client,
        control_master=settings.get("controlmaster", "false"),
        control_path=path,
        control_persist=settings.get("controlpersist", "no"),
        live=live,
        detail=detail,
    )


def open_master(profile: RemoteProfile, persist: str | None = None) -> None:
    """Log in once on the caller's terminal and leave a master in the background (`-M -N -f`).

    ssh prompts on the terminal for whatever the site asks (key passphrase,
    password, second factor); batch mode is off for this one login only.
    """
    argv = openssh_options(profile, batch=False)
    argv += [*fast_cipher_options(argv, profile.host), "-o", "ControlMaster=yes", "-N", "-f"]
    if persist:
        argv += ["-o", f"ControlPersist={persist}"]
    code = subprocess.run([*argv, profile.host], check=False).returncode
    if code != 0:
        raise AuthError(
            f"remote {profile.name} ({profile.target}): the master login failed (ssh exit {code}); "
            "see ssh's message above"
        )


def _ssh(profile: RemoteProfile, extra: list[str]) -> subprocess.CompletedProcess[str]:
    argv = [*openssh_options(profile), "-T", *extra, profile.host]
    try:
        return subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=CHECK_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise TransportError(
            f"remote {profile.name}: ssh {' '.join(extra)} gave no answer in {CHECK_TIMEOUT_SECONDS:g} s"
        ) from None


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.replace("\r", "").splitlines() if line.strip()]
    return lines[-1] if lines else ""
