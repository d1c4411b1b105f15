"""`usr diff | pull | push TARGET REMOTE`: the sync commands and their flags (SPEC §3).

TARGET is a dataset id, a dataset folder or one file (`targets.py`); datasets go
to the dataset engine, a file to the file-mode engine.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import typer

from usr_harness.cli.usr.progress import make_view, summary_line
from usr_harness.cli.usr.state import state
from usr_harness.errors import INTERRUPTED_EXIT
from usr_harness.sync.early_login import start_login
from usr_harness.sync.modes import targets
from usr_harness.sync.options import VERIFY_MODES, SyncOptions
from usr_harness.sync.progress import interrupted_line
from usr_harness.sync.request import FileRequest, SyncRequest
from usr_harness.sync.timings import Timings, render, with_audit_write

VERIFY_HELP = "Primary verification: hash (default), auto (hash, else size, else parquet), size, parquet."
TARGET_HELP = "Dataset id (flat or ns/name), a dataset folder, or one file (*.parquet or any existing file)."
REMOTE_PATH_HELP = "File mode: the remote file's absolute path (else the profile's repo_root mapping)."
REPO_ROOT_HELP = (
    "File mode: local repo root TARGET is mapped from (else local_repo_root, $DNADESIGN_REPO_ROOT); "
    "a relative TARGET is taken under it."
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
VERIFY_OPTION = typer.Option("hash", "--verify", metavar="|".join(VERIFY_MODES), help=VERIFY_HELP)
SIDECARS_OPTION = typer.Option(True, "--verify-sidecars/--no-verify-sidecars")
DERIVED_HASHES_OPTION = typer.Option(None, "--verify-derived-hashes/--no-verify-derived-hashes")
REMOTE_PATH_OPTION = typer.Option(None, "--remote-path", help=REMOTE_PATH_HELP)
REPO_ROOT_OPTION = typer.Option(None, "--repo-root", help=REPO_ROOT_HELP)
AUDIT_OPTION = typer.Option(None, "--audit-json-out", help="Write the audit JSON here.")
TIMINGS_OPTION = typer.Option(
    False, "--timings", help="Print wall seconds per phase on both sides (stderr; always in the audit JSON)."
)
REHASH_OPTION = typer.Option(
    False, "--rehash", help="Read every byte on both sides again: trust neither side's hash cache."
)


def _confirm(question: str) -> bool:
    return typer.confirm(question, default=False)


_now = time.monotonic


class Clock:
    """The summary line's clock: restarted when the prompt is answered, so its rate leaves out
    the time the prompt waited for the operator."""

    def __init__(self) -> None:
        self.started = _now()

    def answered(self, ask: Callable[[str], bool]) -> Callable[[str], bool]:
        def confirm(question: str) -> bool:
            answer = ask(question)
            self.started = _now()
            return answer

        return confirm

    def seconds(self) -> float:
        return _now() - self.started


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
    progress: str = "quiet",
    timings: bool = False,
) -> dict:
    """Resolve TARGET (usage errors before any network call), then run the engine for its mode.

    `progress` (auto, bar, lines or quiet: `progress.make_view`) is how a pull or push shows
    its phases, in either mode; diff passes quiet.
    """
    root_state = state(ctx)
    resolved = targets.resolve_target(
        target,
        root=root_state.root,
        explicit_root=_given(ctx.find_root(), "root"),
        cwd=Path.cwd(),
        repo_root=repo_root,
    )
    clock = Clock()
    confirm = clock.answered(_confirm) if sys.stdin.isatty() else None
    label = str(resolved.path) if isinstance(resolved, targets.FileTarget) else resolved.dataset
    view = make_view(progress, f"{action} {label}")
    if isinstance(resolved, targets.FileTarget):
        targets.refuse_dataset_flags(_dataset_flags_given(ctx), resolved.path)
        from usr_harness.sync.modes import file_mode

        request = FileRequest(
            local=resolved.path,
            remote=remote,
            remotes_config=root_state.remotes_config,
            remote_path=remote_path,
            repo_root=repo_root,
            opts=opts,
            audit_json_out=audit,
            confirm=confirm,
            echo=echo,
            progress=view,
        )
        result = _watched(
            action, label, progress, view, lambda: file_mode.run(action, request), echo, clock, "file"
        )
        if timings:
            typer.echo("usr: --timings: a phase breakdown is kept for dataset targets only", err=True)
        return result
    given = [flag for flag, value in (("--remote-path", remote_path), ("--repo-root", repo_root)) if value]
    targets.refuse_file_flags(given, resolved)
    request = SyncRequest(
        root=resolved.root,
        dataset=resolved.dataset,
        remote=remote,
        remotes_config=root_state.remotes_config,
        opts=opts,
        audit_json_out=audit,
        confirm=confirm,
        echo=echo,
        progress=view,
    )
    phases = Timings()
    login = start_login(action, request)
    try:
        with phases.span("engine load"):
            from usr_harness.sync import engine  # loads while the login runs

        command = lambda: engine.run(action, request, phases, login)  # noqa: E731
        result = _watched(action, label, progress, view, command, echo, clock)
    finally:
        if login is not None:
            login.close()
    if timings:
        typer.echo(render(with_audit_write(result["timings"], phases)), err=True)
    if action == "pull" and brought_frozen_registries(result):
        _adopt_namespaces(resolved, echo)
    return result


def _watched(
    action: str, label: str, progress: str, view, command, echo, clock: Clock, kind: str = "dataset"
) -> dict:
    """Run a pull or push under its progress view: the summary line after it, one line on Ctrl-C."""
    try:
        result = command()
    except KeyboardInterrupt:
        view.close()
        typer.echo(f"usr: {interrupted_line(action, label, view.last, kind)}", err=True)
        raise typer.Exit(INTERRUPTED_EXIT) from None
    finally:
        view.close()
    if progress != "quiet":
        echo(summary_line(action, label, result, clock.seconds()))
    return result


def brought_frozen_registries(audit: dict) -> bool:
    """A transferred pull that brought `_registry/` copies; any other pull leaves the root as it was.

    Read from the audit, so a no-op pull stays as light as it is (no registry, no pyarrow).
    """
    data = audit["data"]
    section = data.get("_auxiliary", {})
    arrived = [*section.get("remote_only", []), *section.get("content_changed", [])]
    return data["transfer_state"] == "TRANSFERRED" and any(path.startswith("_registry/") for path in arrived)


def _adopt_namespaces(resolved: targets.DatasetTarget, echo) -> None:
    """After a pull the laptop can write: the root registers the namespaces the dataset was written under.

    The pull itself has succeeded by now, so a conflict is a warning naming the command
    that reports it, and registry.yaml stays exactly as it was.
    """
    from usr_harness.cli.usr.namespace import adoption_line
    from usr_harness.dataset.registry import adopt_namespaces
    from usr_harness.errors import UsrError

    try:
        adoption = adopt_namespaces(resolved.root, resolved.root / resolved.dataset, resolved.dataset)
    except UsrError as error:
        typer.echo(
            f"WARNING: namespaces not registered ({error.family}): {error.message}; "
            f"see `usr namespace adopt {resolved.dataset}`",
            err=True,
        )
        return
    if adoption.added:
        echo(adoption_line(adoption.added, resolved.root, resolved.dataset))


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
    output_format: str = typer.Option(
        "plain", "--format", metavar="plain|json", help="plain (audit block) or json (audit JSON)."
    ),
    rehash: bool = REHASH_OPTION,
    timings: bool = TIMINGS_OPTION,
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
        ctx,
        "diff",
        target,
        remote,
        opts,
        audit_json_out,
        echo,
        remote_path=remote_path,
        repo_root=repo_root,
        timings=timings,
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
        show_progress: bool = typer.Option(
            None,
            "--progress/--no-progress",
            help="A bar while files move (default: on a terminal); --no-progress: one line per phase.",
        ),
        quiet: bool = typer.Option(False, "-q", "--quiet", help="No progress and no summary line."),
        rehash: bool = REHASH_OPTION,
        timings: bool = TIMINGS_OPTION,
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
            progress=_progress_mode(quiet, show_progress),
            timings=timings,
        )

    command.__doc__ = (
        "Copy the remote dataset or file here: staged, verified, promoted atomically; no local change lost."
        if action == "pull"
        else "Copy this dataset or file to the remote: staged there, agent-verified, promoted atomically."
    )
    return command


def events_merge(
    ctx: typer.Context,
    dataset: str = typer.Argument(..., help="Dataset id whose local and remote event logs branched."),
    remote: str = REMOTE_ARGUMENT,
    lock_timeout: float = typer.Option(30.0, "--lock-timeout", help="Seconds to wait for dataset locks."),
) -> None:
    """Rewrite the local .events.log as: the log of the last sync, the remote's new lines, then this
    side's new lines (every line kept; the remote is only read). Refuses unless both logs start
    with the log of the last sync."""
    from usr_harness.sync.plan.merge_events import merge_events

    root_state = state(ctx)
    merge_events(
        root_state.root,
        dataset,
        remote,
        root_state.remotes_config,
        lock_timeout=lock_timeout,
        echo=typer.echo,
    )


def _progress_mode(quiet: bool, show_progress: bool | None) -> str:
    if quiet:
        return "quiet"
    return {None: "auto", True: "bar", False: "lines"}[show_progress]


def register(app: typer.Typer) -> None:
    """Add diff, pull and push to the root `usr` app, and `merge` to its `events` group."""
    from usr_harness.cli.usr.dataset import events_app

    app.command("diff")(diff)
    app.command("pull")(_transfer_command("pull"))
    app.command("push")(_transfer_command("push"))
    events_app.command("merge")(events_merge)
