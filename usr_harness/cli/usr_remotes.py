"""`usr remotes list | show | trust | doctor`: inspect remote profiles, record host keys, check a remote.

`trust` is the only way a host key enters known_hosts: the operator sees the
SHA256 fingerprint first and must confirm (or pass --yes), because a key
learned blindly is exactly what an attacker in the middle would offer.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
import yaml

from usr_harness.errors import UsageError
from usr_harness.sync.remote.profiles import get_profile, load_profiles, resolve_remotes_path
from usr_harness.sync.remote.session import fetch_host_key, known_host_keys, trust_host_key

remotes_app = typer.Typer(
    name="remotes",
    help="Remote profiles: list them, show one, trust a host key, doctor a remote.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add `usr remotes ...` to `app`."""
    app.add_typer(remotes_app, name="remotes")


def _remotes_config(ctx: typer.Context) -> Path | None:
    from usr_harness.cli.usr_app import state

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
    name: str = typer.Argument(..., help="Remote profile name."),
    as_json: bool = typer.Option(False, "--json", help="Print the checks as JSON."),
) -> None:
    """Prove a sync can run: SSH auth, remote python, base_dir writable, locking, sha256, pyarrow, clock."""
    from usr_harness.sync.doctor import run_doctor

    report = run_doctor(get_profile(name, _remotes_config(ctx)))
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
    else:
        for check in report.checks:
            typer.echo(f"[{check.status:>4}] {check.name}: {check.detail}")
    if report.error is not None:
        raise report.error
    if not report.ok:
        raise typer.Exit(1)
