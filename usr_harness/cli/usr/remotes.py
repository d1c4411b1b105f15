"""`usr remotes list | show | trust | doctor | wizard | status | warm-auth`: set up and check remotes.

`trust` is the only way a host key enters known_hosts: the operator sees the
SHA256 fingerprint first and must confirm (or pass --yes), because a key
learned blindly is exactly what an attacker in the middle would offer.
Nothing here prompts without a terminal: trust's confirmation, the wizard's
missing settings and warm-auth's login become usage errors instead.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Any

import typer
import yaml

from usr_harness.cli.usr.state import state
from usr_harness.errors import AuthError, UsageError, UsrError
from usr_harness.sync.remote.near.controlmaster import MasterStatus, master_status, open_master
from usr_harness.sync.remote.near.profiles import (
    SUPPORTED_CLIENTS,
    RemoteProfile,
    get_profile,
    load_profiles,
    resolve_remotes_path,
    warn,
)
from usr_harness.sync.remote.near.wizard import (
    PRESETS,
    choose_remotes_file,
    existing_settings,
    preset_host,
    write_profile,
)

remotes_app = typer.Typer(
    name="remotes",
    help="Remote profiles: list, show, wizard, trust, doctor; ControlMaster status and warm-auth.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def register(app: typer.Typer) -> None:
    """Add `usr remotes ...` to `app`."""
    app.add_typer(remotes_app, name="remotes")


NAME_ARGUMENT = typer.Argument(None, help="Remote profile name (or --remote NAME).", show_default=False)
REMOTE_OPTION = typer.Option(None, "--remote", help="Remote profile name, as the upstream runbooks spell it.")


def chosen_name(positional: str | None, option: str | None, flag: str = "--remote") -> str | None:
    """`doctor NAME` and `doctor --remote NAME` mean the same; both given must agree."""
    if positional and option and positional != option:
        raise UsageError(f"remote named twice: {positional!r} and {flag} {option!r}; give one")
    return positional or option


def required_name(positional: str | None, option: str | None) -> str:
    """The remote a command acts on, however it was spelled; naming none is a usage error."""
    name = chosen_name(positional, option)
    if not name:
        raise UsageError("which remote? pass its name: NAME or --remote NAME")
    return name


def _remotes_config(ctx: typer.Context) -> Path | None:
    return state(ctx).remotes_config


@remotes_app.command("list")
def list_remotes(ctx: typer.Context) -> None:
    """One line per profile: name, user@host:port, base_dir."""
    path = _remotes_config(ctx)
    profiles = load_profiles(path)
    if not profiles:
        typer.echo(f"no remotes in {resolve_remotes_path(path)}")
        return
    width = max(len(name) for name in profiles)
    for name, profile in sorted(profiles.items()):
        typer.echo(f"{name:<{width}}  {profile.target:<30}  {profile.base_dir}")


@remotes_app.command("show")
def show_remote(ctx: typer.Context, name: str = typer.Argument(..., help="Remote profile name.")) -> None:
    """Every setting of one profile (as YAML) and where its key and known_hosts resolve to."""
    path = _remotes_config(ctx)
    profile = get_profile(name, path)
    typer.echo(yaml.safe_dump(profile.as_dict(), sort_keys=False), nl=False)
    typer.echo(f"config: {resolve_remotes_path(path)}")
    typer.echo(f"known_hosts_file: {profile.known_hosts_path()}")
    typer.echo(f"host_key_name: {profile.host_key_name}")


@remotes_app.command("trust")
def trust_remote(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Remote profile name."),
    yes: bool = typer.Option(False, "-y", "--yes", help="Record the key without asking (check it first)."),
    timeout: float = typer.Option(10.0, "--timeout", help="Seconds to wait for the server."),
) -> None:
    """Fetch the host key, show its SHA256 fingerprint, record it in known_hosts once confirmed."""
    from usr_harness.sync.remote.near.host_keys import fetch_host_key, known_host_keys, trust_host_key

    profile = get_profile(name, _remotes_config(ctx))
    key = fetch_host_key(profile.host, profile.port, timeout)
    known_hosts = profile.known_hosts_path()
    typer.echo(f"host key for {profile.host_key_name}: {key.get_name()} {key.fingerprint}")
    if any(existing == key for existing in known_host_keys(profile)):
        typer.echo(f"already trusted in {known_hosts}")
        return
    if not yes:
        if not sys.stdin.isatty():
            raise UsageError(
                f"not recording the host key of remote {name} without confirmation: compare the "
                "fingerprint above with the server's (ssh-keygen -lf on its host key), then re-run with --yes"
            )
        if not typer.confirm(f"Record this key in {known_hosts}?", default=False):
            typer.echo("not recorded")
            raise typer.Exit(1)
    fingerprint = trust_host_key(profile, key)
    typer.echo(f"recorded {profile.host_key_name} {fingerprint} in {known_hosts}")


@remotes_app.command("doctor")
def doctor_remote(
    ctx: typer.Context,
    name: str = NAME_ARGUMENT,
    remote: str = REMOTE_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print the checks as JSON."),
) -> None:
    """Prove a sync can run: SSH auth, remote python, base_dir writable, locking, sha256, pyarrow, clock."""
    from usr_harness.sync.remote.near.doctor import run_doctor

    profile = get_profile(required_name(name, remote), _remotes_config(ctx))
    report = run_doctor(profile)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
    else:
        for check in report.checks:
            typer.echo(f"[{check.status:>4}] {check.name}: {check.detail}")
    hint = keyboard_interactive_hint(report.error, profile) or missing_base_dir_hint(report.error, profile)
    if hint:
        typer.echo(f"hint: {hint}", err=True)
    if report.error is not None:
        raise report.error
    if not report.ok:
        raise typer.Exit(1)


def keyboard_interactive_hint(error: UsrError | None, profile: RemoteProfile) -> str | None:
    """What to do when the server wants a second factor, which batch mode can never answer."""
    if not isinstance(error, AuthError) or "keyboard-interactive" not in error.message.lower():
        return None
    steps = [
        "configure ControlMaster auto, ControlPath and ControlPersist for the host in ~/.ssh/config",
        f"log in once on a terminal with `usr remotes warm-auth {profile.name}` (see docs/keys.md)",
    ]
    if profile.client != "openssh":
        steps.insert(0, f"set `client: openssh` (usr remotes wizard {profile.name} --client openssh)")
    return (
        "the server asks for keyboard-interactive authentication (a password or second factor), which "
        "batch logins cannot answer: " + "; ".join(steps)
    )


def missing_base_dir_hint(error: UsrError | None, profile: RemoteProfile) -> str | None:
    """The one command that creates a missing remote datasets root, so doctor says how to fix it."""
    if error is None or error.family != "config" or "base_dir" not in error.message:
        return None
    login = ["ssh", "-p", str(profile.port)]
    if profile.identity_file:
        login += ["-i", profile.identity_file]
    base = profile.base_dir
    quoted = "~/" + shlex.quote(base[2:]) if base.startswith("~/") else shlex.quote(base)
    remote_command = f"mkdir -p {quoted}"
    command = shlex.join([*login, f"{profile.user}@{profile.host}", remote_command])
    return f"create the remote datasets root, then re-run doctor: {command}"


REQUIRED_FOR_NEW = (("host", "--host"), ("user", "--user"), ("base_dir", "--base-dir"))


@remotes_app.command("wizard")
def wizard_remote(
    ctx: typer.Context,
    name: str = typer.Argument(None, help="Remote profile name (or --name; prompted for on a terminal)."),
    name_option: str = typer.Option(
        None, "--name", help="Remote profile name, as the upstream runbooks spell it."
    ),
    preset: str = typer.Option(
        None, "--preset", help=f"Defaults for a known cluster: {', '.join(sorted(PRESETS))}."
    ),
    transfer_node: bool = typer.Option(
        False,
        "--transfer-node",
        help="With --preset: the cluster's data-transfer host instead of its login host.",
    ),
    host: str = typer.Option(None, "--host", help="SSH host name or address."),
    user: str = typer.Option(None, "--user", help="Remote user name."),
    base_dir: str = typer.Option(None, "--base-dir", help="Remote datasets root (absolute or ~/...)."),
    port: int = typer.Option(None, "--port", min=1, max=65535, help="SSH port (default 22)."),
    identity_file: str = typer.Option(None, "--identity-file", help="Private key to log in with."),
    known_hosts: str = typer.Option(None, "--known-hosts", help="known_hosts file to check the host key in."),
    python: str = typer.Option(None, "--python", help="Remote python (default python3)."),
    client: str = typer.Option(
        None,
        "--client",
        metavar="|".join(SUPPORTED_CLIENTS),
        help="How to reach the agent (local: a child process, no SSH).",
    ),
    batch_mode: bool = typer.Option(
        None,
        "--batch-mode/--no-batch-mode",
        help="Logins that never prompt (default); --no-batch-mode for servers that need a second factor.",
        show_default=False,
    ),
    ssh_key_env: str = typer.Option(
        None, "--ssh-key-env", help="Environment variable holding the key's path."
    ),
    repo_root: str = typer.Option(None, "--repo-root", help="File mode: the remote repo root (absolute)."),
    local_repo_root: str = typer.Option(
        None, "--local-repo-root", help="File mode: the local repo root remote paths are mapped from."
    ),
    file: Path = typer.Option(
        None, "--file", help="Remotes file (else --remotes-config, $USR_REMOTES_PATH)."
    ),
) -> None:
    """Write or update one profile; every other profile and comment in the file stays as it was."""
    path = choose_remotes_file(file, _remotes_config(ctx))
    name = chosen_name(name, name_option, "--name") or _ask("Remote name")
    host = host or preset_host(preset, transfer_node=transfer_node)
    settings: dict[str, Any] = {
        "host": host,
        "user": user,
        "base_dir": base_dir,
        "port": port,
        "identity_file": _local_path(identity_file),
        "known_hosts": _local_path(known_hosts),
        "python": python,
        "client": client,
        "batch_mode": batch_mode,
        "ssh_key_env": ssh_key_env,
        "repo_root": repo_root,
        "local_repo_root": _local_path(local_repo_root),
    }
    if client is not None and client not in SUPPORTED_CLIENTS:
        raise UsageError(f"--client must be one of {', '.join(SUPPORTED_CLIENTS)}, got {client!r}")
    if existing_settings(path, name) is None:
        for key, flag in REQUIRED_FOR_NEW:
            settings[key] = settings[key] or _ask(f"{flag} for new remote {name}")
        settings = {"type": "ssh", **settings}
    given = {key: value for key, value in settings.items() if value is not None}
    if given.get("identity_file") and not Path(given["identity_file"]).expanduser().is_file():
        warn(f"identity file {given['identity_file']} does not exist yet")
    result = write_profile(path, name, given)
    typer.echo(f"{result.action} remote {name} in {result.path}: {', '.join(result.keys) or 'no changes'}")
    typer.echo(f"next: usr --remotes-config {result.path} remotes trust {name}, then remotes doctor {name}")


def _ask(label: str) -> str:
    """A prompt on a terminal; without one the flag is required, never guessed."""
    if not sys.stdin.isatty():
        raise UsageError(f"{label} is required (pass it as a flag; there is no terminal to ask on)")
    return typer.prompt(label)


def _local_path(value: str | None) -> str | None:
    """Absolute, so the file means the same from any folder; `~` stays for portability."""
    if value is None or value.startswith("~"):
        return value
    return str(Path(value).absolute())


@remotes_app.command("status")
def status_remote(
    ctx: typer.Context,
    name: str = NAME_ARGUMENT,
    remote: str = REMOTE_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print the status as JSON."),
) -> None:
    """Is a ControlMaster configured for the remote's host, and is a master live? Exit 1 when not live."""
    status = master_status(get_profile(required_name(name, remote), _remotes_config(ctx)))
    if as_json:
        typer.echo(json.dumps(status.as_dict(), indent=2))
    else:
        _print_status(status)
    if not status.live:
        raise typer.Exit(1)


def _print_status(status: MasterStatus) -> None:
    typer.echo(f"remote {status.remote} ({status.target}), client {status.client}")
    typer.echo(f"control master: {status.control_master}")
    typer.echo(f"control path: {status.control_path or 'none'}")
    typer.echo(f"control persist: {status.control_persist}")
    typer.echo(f"master: {'live' if status.live else 'not live'} ({status.detail})")
    if status.client != "openssh":
        typer.echo("note: only `client: openssh` profiles use the master; paramiko opens its own connection")


@remotes_app.command("warm-auth")
def warm_auth_remote(
    ctx: typer.Context,
    name: str = NAME_ARGUMENT,
    remote: str = REMOTE_OPTION,
    persist: str = typer.Option(
        None, "--persist", help="ControlPersist for this master, e.g. 8h (default: the ssh config's)."
    ),
) -> None:
    """Log in once on this terminal and leave a ControlMaster running for later batch commands."""
    name = required_name(name, remote)
    if not sys.stdin.isatty():
        raise UsageError(f"warm-auth {name} needs a terminal to log in on; run it interactively")
    profile = get_profile(name, _remotes_config(ctx))
    status = master_status(profile)
    if not status.configured:
        raise UsageError(
            f"no ControlPath is configured for {profile.target}: add a `Host {profile.host}` block with "
            "ControlMaster auto, ControlPath ~/.ssh/cm-%C and ControlPersist 8h to ~/.ssh/config "
            "(see docs/keys.md)"
        )
    if not status.live:
        open_master(profile, persist)
        status = master_status(profile)
    typer.echo(f"master for {profile.target}: {'live' if status.live else 'not live'} ({status.detail})")
    typer.echo(f"socket: {status.control_path}")
    if profile.client != "openssh":
        warn(f"remote {name} uses client {profile.client}, which ignores the master: set client: openssh")
    if not status.live:
        raise typer.Exit(1)
