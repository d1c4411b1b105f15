"""What every `usr diff | pull | push` shares, dataset or file: hooks, the gate, the published audit.

Both modes ask the same question before they write (DRY-RUN, -y, or a prompt) and
publish the audit on every outcome, failures included: printed first, then written
as JSON, an unwritable JSON reported as `staging` and never hiding the command's own error.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from usr_harness.dataset.quoting import quote
from usr_harness.errors import ConfigError, StagingError, UsageError
from usr_harness.sync import hooks
from usr_harness.sync.options import SyncOptions
from usr_harness.sync.record.audit import render_plain, write_audit


def load_hooks() -> None:
    """Install the hook `USR_SYNC_HOOKS` names before anything moves; a bad name is a config error."""
    try:
        hooks.load_from_env()
    except hooks.HookError as error:
        raise ConfigError(str(error)) from None


def gate(
    opts: SyncOptions, confirm: Callable[[str], bool] | None, what: str, question: Callable[[], str]
) -> str | None:
    """DRY-RUN or a declined prompt end the command before any lock is taken; None lets it go on.

    `what` names the command ("push of X"); `question` is built only when a prompt is shown.
    """
    if opts.dry_run:
        return "DRY-RUN"
    if not opts.yes:
        if confirm is None:
            raise UsageError(f"{what} needs confirmation: pass -y (no terminal to ask on)")
        if not confirm(question()):
            raise UsageError(f"{what} declined; nothing changed")
    return None


def publish(
    audit: dict, echo: Callable[[str], None], path: Path | None, where: str, dataset: str | None = None
) -> dict:
    """Print the audit block and write the audit JSON; a JSON that cannot be written is `staging`.

    `where` names the local side in that message ("local DATASET").
    """
    echo(render_plain(audit))
    if path:
        try:
            write_audit(path, audit)
        except OSError as error:
            data = audit["data"]
            raise StagingError(
                f"{where}: cannot write the audit JSON {quote(path)} ({error.strerror}); "
                f"the {data['action']} itself ended {data['transfer_state']}",
                paths=[str(path)],
                dataset=dataset,
                side="local",
            ) from None
    return audit


def publish_failure(
    audit: dict, echo: Callable[[str], None], path: Path | None, where: str, dataset: str | None = None
) -> None:
    """The audit of a failed command; one that cannot be written is a warning beside the error."""
    try:
        publish(audit, echo, path, where, dataset)
    except StagingError as unwritten:
        echo(f"WARNING: {unwritten.message}")
