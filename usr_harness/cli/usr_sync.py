"""`usr diff | pull | push DATASET REMOTE`: the sync commands and their flags (SPEC §3)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import typer

from usr_harness.sync import engine
from usr_harness.sync.options import SyncOptions

VERIFY_HELP = "Primary verification: hash (default), auto (hash, else size, else parquet), size, parquet."


def _confirm(question: str) -> bool:
    return typer.confirm(question, default=False)


def _request(ctx: typer.Context, dataset: str, remote: str, opts: SyncOptions, audit: Path | None, echo):
    from usr_harness.cli.usr_app import state

    root_state = state(ctx)
    interactive = sys.stdin.isatty()
    return engine.SyncRequest(
        root=root_state.root,
        dataset=dataset,
        remote=remote,
        remotes_config=root_state.remotes_config,
        opts=opts,
        audit_json_out=audit,
        confirm=_confirm if interactive else None,
        echo=echo,
    )


def diff(
    ctx: typer.Context,
    dataset: str = typer.Argument(..., help="Dataset id (flat or ns/name)."),
    remote: str = typer.Argument(..., help="Remote profile name."),
    verify: str = typer.Option("hash", "--verify", help=VERIFY_HELP),
    verify_sidecars: bool = typer.Option(True, "--verify-sidecars/--no-verify-sidecars"),
    verify_derived_hashes: bool = typer.Option(None, "--verify-derived-hashes/--no-verify-derived-hashes"),
    audit_json_out: Path = typer.Option(None, "--audit-json-out", help="Write the audit JSON here."),
    output_format: str = typer.Option("plain", "--format", help="plain (audit block) or json (audit JSON)."),
) -> None:
    """Compare a local dataset with its remote copy, section by section; changes nothing."""
    if output_format not in ("plain", "json"):
        raise typer.BadParameter("--format must be plain or json")
    opts = SyncOptions(
        verify=verify, verify_sidecars=verify_sidecars, verify_derived_hashes=verify_derived_hashes
    )
    echo = typer.echo if output_format == "plain" else (lambda _text: None)
    audit = engine.run("diff", _request(ctx, dataset, remote, opts, audit_json_out, echo))
    if output_format == "json":
        typer.echo(json.dumps(audit, indent=2))


def _transfer_command(action: str):
    def command(
        ctx: typer.Context,
        dataset: str = typer.Argument(..., help="Dataset id (flat or ns/name)."),
        remote: str = typer.Argument(..., help="Remote profile name."),
        verify: str = typer.Option("hash", "--verify", help=VERIFY_HELP),
        verify_sidecars: bool = typer.Option(True, "--verify-sidecars/--no-verify-sidecars"),
        verify_derived_hashes: bool = typer.Option(
            None, "--verify-derived-hashes/--no-verify-derived-hashes"
        ),
        primary_only: bool = typer.Option(False, "--primary-only", help="Only records.parquet."),
        skip_snapshots: bool = typer.Option(False, "--skip-snapshots", help="Leave _snapshots out."),
        dry_run: bool = typer.Option(False, "--dry-run", help="Plan and report; transfer nothing."),
        yes: bool = typer.Option(False, "-y", "--yes", help="Do not ask for confirmation."),
        force: bool = typer.Option(
            False, "--force", help="Overwrite or delete files changed since the last sync."
        ),
        lock_timeout: float = typer.Option(30.0, "--lock-timeout", help="Seconds to wait for dataset locks."),
        strict_bootstrap_id: bool = typer.Option(
            False,
            "--strict-bootstrap-id",
            help="Pull: refuse a bootstrap whose remote meta.md names another id.",
        ),
        audit_json_out: Path = typer.Option(None, "--audit-json-out", help="Write the audit JSON here."),
    ) -> None:
        opts = SyncOptions(
            verify=verify,
            verify_sidecars=verify_sidecars,
            verify_derived_hashes=verify_derived_hashes,
            primary_only=primary_only,
            skip_snapshots=skip_snapshots,
            dry_run=dry_run,
            yes=yes,
            force=force,
            lock_timeout=lock_timeout,
            strict_bootstrap_id=strict_bootstrap_id
            or (action == "pull" and os.environ.get("USR_SYNC_STRICT_BOOTSTRAP_ID") == "1"),
        )
        engine.run(action, _request(ctx, dataset, remote, opts, audit_json_out, typer.echo))

    command.__doc__ = (
        "Copy the remote dataset here: staged, verified, promoted atomically; never loses a local change."
        if action == "pull"
        else "Copy this dataset to the remote: staged there, verified by the agent, promoted atomically."
    )
    return command


def register(app: typer.Typer) -> None:
    """Add diff, pull and push to the root `usr` app."""
    app.command("diff")(diff)
    app.command("pull")(_transfer_command("pull"))
    app.command("push")(_transfer_command("push"))
