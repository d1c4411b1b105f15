"""Run a Typer app so user errors print one clear line and exit with their family's code."""

from __future__ import annotations

import typer

from usr_harness.errors import INTERRUPTED_EXIT, UsrError


def report_error(prog: str, error: UsrError) -> None:
    typer.echo(f"{prog}: error[{error.family}]: {error.message}", err=True)
    for path in error.paths[:20]:
        typer.echo(f"  - {path}", err=True)
    if len(error.paths) > 20:
        typer.echo(f"  ... and {len(error.paths) - 20} more", err=True)


def _interrupted(exit_: SystemExit) -> bool:
    """Click turns Ctrl-C into `Abort` (from the KeyboardInterrupt), then exits 1 while handling it."""
    abort = exit_.__context__
    return abort is not None and isinstance(abort.__cause__, KeyboardInterrupt)


def run_app(app: typer.Typer, prog: str, argv: list[str] | None = None) -> int:
    """Invoke `app`; usage errors keep Typer's exit 2, a UsrError prints one line and its family's code.

    Ctrl-C exits 130, as a shell reports it, never click's plain 1.
    """
    try:
        app(args=argv, prog_name=prog)
    except SystemExit as exit_:
        if _interrupted(exit_):
            return INTERRUPTED_EXIT
        code = exit_.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except UsrError as error:
        report_error(prog, error)
        return error.exit_code
    return 0
