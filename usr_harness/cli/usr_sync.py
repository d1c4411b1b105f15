"""`usr diff | pull | push TARGET REMOTE`: the sync commands and their flags (SPEC §3).

TARGET is a dataset id, a dataset folder or one file (`targets.py`); datasets go
to the dataset engine, a file to the file-mode engine.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import typer

from usr_harness.sync import engine, file_mode, targets
from usr_harness.sync.options import SyncOptions

VERIFY_HELP = "Primary verification: hash (default), auto (hash, else size, else parquet), size, parquet."
TARGET_HELP = "Dataset id (flat or ns/name), a dataset folder, or one file (*.parquet or any existing file)."
REMOTE_PATH_HELP = "File mode: the remote file's absolute path (else the profile's repo_root mapping)."
REPO_ROOT_HELP = (
    "File mode: local repo root TARGET is mapped from (else local_repo_root, $DNADESIGN_REPO_ROOT)."
)
# Flags that mean nothing for one file, with their on/off spellings.
DATASET_ONLY = {
    "verify_sidecars": ("--verify-sidecars", "--no-verify-sidecars"),
    "verify_derived_hashes": ("--verify-derived-hashes", "--no-verify-derived-hashes"),
    "primary_only": ("--primary-only", "--primary-only"),
    "skip_snapshots": ("--skip-snapshots", "--skip-snapshots"),
    "strict_bootstrap_id": ("--strict-bootstrap-id", "--strict-bootstrap-id"),
}

# The options diff shares with pull and push, declared once.
TARGET_ARGUMENT = typer.Argument(..., help=TARGET_HELP)
REMOTE_ARGUMENT = typer.Argument(..., help="Remote profile name.")
VERIFY_OPTION = typer.Option("hash", "--verify", help=VERIFY_HELP)
SIDECARS_OPTION = typer.Option(True, "--verify-sidecars/--no-verify-sidecars")
DERIVED_HASHES_OPTION = typer.Option(None, "--verify-derived-hashes/--no-verify-derived-hashes")
REMOTE_PATH_OPTION = typer.Option(None, "--remote-path", help=REMOTE_PATH_HELP)
REPO_ROOT_OPTION = typer.Option(None, "--repo-root", help=REPO_ROOT_HELP)
AUDIT_OPTION = typer.Option(None, "--audit-json-out", help="Write the audit JSON here.")
REHASH_OPTION = typer.Option(
    False, "--rehash", help="Read every byte on both sides again: trust neither side's hash cache."
)


def _confirm(question: str) -> bool:
    return typer.confirm(question, default=False)


def _given(ctx: typer.Context, name: str) -> bool:
    source = ctx.get_parameter_source(name)
    return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")


def _dataset_flags_given(ctx: typer.Context) -> list[str]:
    """The dataset-only flags as the operator spelled them (`--no-verify-sidecars`, ...)."""
    return [on if ctx.params[name] else off for name, (on, off) in DATASET_ONLY.items() if _given(ctx, name)]


def _run(
    ctx: typer.Context,
    action: str,
    target: str,
    remote: str,
    opts: SyncOptions,
    audit: Path | None,
    echo,
    *,
    remote_path: str | None,
    repo_root: Path | None,
) -> dict:
    """Resolve TARGET (usage errors before any network call), then run the engine for its mode."""
    from usr_harness.cli.usr_app import state

    root_state = state(ctx)
    resolved = targets.resolve_target(
        target, root=root_state.root, explicit_root=_given(ctx.find_root(), "root"), cwd=Path.cwd()
    )
    confirm = _confirm if sys.stdin.isatty() else None
    if isinstance(resolved, targets.FileTarget):
        targets.refuse_dataset_flags(_dataset_flags_given(ctx), resolved.path)
        request = file_mode.FileRequest(
            local=resolved.path,
            remote=remote,
            remotes_config=root_state.remotes_config,
            remote_path=remote_path,
            repo_root=repo_root,
            opts=opts,
            audit_json_out=audit,
            confirm=confirm,
            echo=echo,
        )
        return file_mode.run(action, request)
    given = [flag for flag, value in (("--remote-path", remote_path), ("--repo-root", repo_root)) if value]
    targets.refuse_file_flags(given, resolved)
    request = engine.SyncRequest(
        root=resolved.root,
        dataset=resolved.dataset,
        remote=remote,
        remotes_config=root_state.remotes_config,
        opts=opts,
        audit_json_out=audit,
        confirm=confirm,
        echo=echo,
    )
    return engine.run(action, request)


def diff(
    ctx: typer.Context,
    target: str = TARGET_ARGUMENT,
    remote: str = REMOTE_ARGUMENT,
    verify: str = VERIFY_OPTION,
    verify_sidecars: bool = SIDECARS_OPTION,
    verify_derived_hashes: bool = DERIVED_HASHES_OPTION,
    remote_path: str = REMOTE_PATH_OPTION,
    repo_root: Path = REPO_ROOT_OPTION,
    audit_json_out: Path = AUDIT_OPTION,
    output_format: str = typer.Option("plain", "--format", help="plain (audit block) or json (audit JSON)."),
    rehash: bool = REHASH_OPTION,
) -> None:
    """Compare a local dataset (or file) with its remote copy, section by section; changes nothing."""
    if output_format not in ("plain", "json"):
        raise typer.BadParameter("--format must be plain or json")
    opts = SyncOptions(
        verify=verify,
        verify_sidecars=verify_sidecars,
        verify_derived_hashes=verify_derived_hashes,
        rehash=rehash,
    )
    echo = typer.echo if output_format == "plain" else (lambda _text: None)
    audit = _run(
        ctx, "diff", target, remote, opts, audit_json_out, echo, remote_path=remote_path, repo_root=repo_root
    )
    if output_format == "json":
        typer.echo(json.dumps(audit, indent=2))


def _transfer_command(action: str):
    def command(
        ctx: typer.Context,
        target: str = TARGET_ARGUMENT,
        remote: str = REMOTE_ARGUMENT,
        verify: str = VERIFY_OPTION,
        verify_sidecars: bool = SIDECARS_OPTION,
        verify_derived_hashes: bool = DERIVED_HASHES_OPTION,
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
        audit_json_out: Path = AUDIT_OPTION,
        remote_path: str = REMOTE_PATH_OPTION,
        repo_root: Path = REPO_ROOT_OPTION,
        rehash: bool = REHASH_OPTION,
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
            rehash=rehash,
        )
        _run(
            ctx,
            action,
            target,
            remote,
            opts,
            audit_json_out,
            typer.echo,
            remote_path=remote_path,
            repo_root=repo_root,
        )

    command.__doc__ = (
        "Copy the remote dataset or file here: staged, verified, promoted atomically; no local change lost."
        if action == "pull"
        else "Copy this dataset or file to the remote: staged there, agent-verified, promoted atomically."
    )
    return command


def register(app: typer.Typer) -> None:
    """Add diff, pull and push to the root `usr` app."""
    app.command("diff")(diff)
    app.command("pull")(_transfer_command("pull"))
    app.command("push")(_transfer_command("push"))
