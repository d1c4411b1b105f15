"""Run a Typer app so every user error prints one clear line and exits with its family's code.

The command-line framework's own usage errors (an unknown option, a missing argument, an
argument beginning with `-`) come out in the same `prog: error[usage]: ...` form as the
engine's, never as a framed box: operators grep one format.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.main import get_command

from usr_harness.dataset.quoting import one_line, quote
from usr_harness.errors import INTERRUPTED_EXIT, UsageError, UsrError

PATHS_SHOWN = 20


def report_error(prog: str, error: UsrError) -> None:
    typer.echo(one_line(f"{prog}: error[{error.family}]: {error.message}"), err=True)
    for path in error.paths[:PATHS_SHOWN]:
        typer.echo(f"  - {path if path.isprintable() else quote(path)}", err=True)
    if len(error.paths) > PATHS_SHOWN:
        typer.echo(f"  ... and {len(error.paths) - PATHS_SHOWN} more", err=True)


def _usage_error(prog: str, error: typer.TyperException) -> UsageError:
    """The framework's complaint in one line, with where to read the command's help."""
    context = getattr(error, "ctx", None)
    command = context.command_path if context is not None else prog
    misplaced = _global_option_after_command(error, context)
    if misplaced:
        subcommand = command.removeprefix(prog).strip()
        return UsageError(
            f"{misplaced} is an option of `{prog}` itself: put it before the command, "
            f"`{prog} {misplaced} ... {subcommand} ...`"
        )
    hint = f"see `{command} --help`"
    if getattr(error, "option_name", "").startswith("-") and not error.option_name.startswith("--"):
        hint = (
            f"an argument beginning with '-' is read as an option (dataset ids never begin with '-'); {hint}"
        )
    return UsageError(f"{error.format_message().rstrip('.')}; {hint}")


def version_option(prog: str) -> Any:
    """An eager `--version` that prints the program and package version and exits before any work."""

    def show(wanted: bool) -> None:
        if wanted:
            from importlib.metadata import version

            typer.echo(f"{prog} {version('usr-harness')}")
            raise typer.Exit()

    return typer.Option(
        False,
        "--version",
        is_eager=True,
        expose_value=False,
        callback=show,
        help="Print the version and exit.",
    )


def _global_option_after_command(error: typer.TyperException, context: Any) -> str | None:
    """The option's name when a subcommand was given one that only the program itself takes (`--root`)."""
    name = getattr(error, "option_name", None)
    if type(error).__name__ != "NoSuchOption" or context is None or not name:
        return None
    root = context.find_root()
    if context is root:
        return None
    return name if any(name in param.opts for param in root.command.params) else None


def run_app(app: typer.Typer, prog: str, argv: list[str] | None = None) -> int:
    """Invoke `app`; a framework usage error or a UsrError prints one line and its family's code.

    Ctrl-C exits 130, as a shell reports it, never click's plain 1.
    """
    command = get_command(app)
    try:
        outcome = command.main(args=argv, prog_name=prog, standalone_mode=False)
    except typer.Abort as abort:
        if isinstance(abort.__cause__, KeyboardInterrupt):
            return INTERRUPTED_EXIT
        report_error(prog, UsageError("aborted at a prompt; nothing changed"))
        return UsageError.exit_code
    except typer.TyperException as error:
        if type(error).__name__ == "NoArgsIsHelpError":
            error.show()
            return UsageError.exit_code
        report_error(prog, _usage_error(prog, error))
        return UsageError.exit_code
    except UsrError as error:
        report_error(prog, error)
        return error.exit_code
    except SystemExit as exit_:
        code = exit_.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return outcome if isinstance(outcome, int) and not isinstance(outcome, bool) else 0
