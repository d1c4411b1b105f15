"""`usr-harness host up | down | status`: a detached loopback OpenSSH host for trying sync by hand.

`up` prints a ready remotes YAML on stdout (so `usr-harness host up > remotes.yaml`
works) and also saves it as DIR/remotes.yaml; `down` stops the server by the pid
it recorded, leaving its log and base_dir in DIR.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from usr_harness.hosts.loopback import LoopbackSshd

DEFAULT_DIR = Path("reports/host")

host_app = typer.Typer(
    name="host",
    help="Throwaway OpenSSH sshd on 127.0.0.1 with its own keys: up, down, status.",
    no_args_is_help=True,
)

_DIR_OPTION = typer.Option(DEFAULT_DIR, "--dir", help="Folder for the host's keys, config, log and state.")


def register(app: typer.Typer) -> None:
    """Add `usr-harness host ...` to `app`."""
    app.add_typer(host_app, name="host")


@host_app.command("up")
def up(
    directory: Path = _DIR_OPTION,
    name: str = typer.Option("loopback", "--name", help="Profile name in the printed remotes YAML."),
    python: str = typer.Option(sys.executable, "--python", help="Remote python for the profile."),
) -> None:
    """Start the host (or reuse the running one) and print its remotes YAML profile."""
    host = LoopbackSshd.attach(directory)
    if host is None or not host.running:
        host = LoopbackSshd(directory, detach=True).start()
    remotes = host.write_remotes_yaml(host.workdir / "remotes.yaml", name, python=python)
    typer.echo(host.remotes_yaml(name, python=python), nl=False)
    typer.echo(
        f"loopback sshd up: pid {host.pid}, {host.user}@{host.host}:{host.port}, log {host.log_path}\n"
        f"profile saved: export USR_REMOTES_PATH={remotes}",
        err=True,
    )


@host_app.command("down")
def down(directory: Path = _DIR_OPTION) -> None:
    """Stop the host by its recorded pid; keys, log and base_dir stay in DIR."""
    host = LoopbackSshd.attach(directory)
    if host is None:
        typer.echo(f"no loopback host recorded in {directory}")
        return
    if not host.running:
        typer.echo(f"loopback sshd in {host.workdir} is not running")
        return
    pid = host.pid
    host.stop()
    typer.echo(f"loopback sshd stopped (pid {pid}); log kept at {host.log_path}")


@host_app.command("status")
def status(directory: Path = _DIR_OPTION) -> None:
    """Say whether the host runs; exit 0 when up, 1 when down."""
    host = LoopbackSshd.attach(directory)
    if host is None or not host.running:
        typer.echo(f"down ({directory})")
        raise typer.Exit(1)
    typer.echo(
        f"up: pid {host.pid}, {host.user}@{host.host}:{host.port}, "
        f"{host.connection_count()} connections, log {host.log_path}"
    )
