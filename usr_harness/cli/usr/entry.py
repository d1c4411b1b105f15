"""`usr`'s entry point: `usr --version` answers before typer, rich and the engine load; the rest: `app`."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """`usr ARGS`; with `argv` None, the process's own arguments and exit code."""
    args = sys.argv[1:] if argv is None else argv
    if args == ["--version"]:
        from usr_harness import __version__

        print(f"usr {__version__}")
        return 0
    from usr_harness.cli.usr.app import main as app_main

    return app_main(argv)
