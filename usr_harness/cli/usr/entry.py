"""`usr`'s entry point: `usr --version` answers before typer, rich and the engine load; the rest: `app`.

A process that ran a command ends without the interpreter's teardown: freeing every module a
sync loaded (paramiko, cryptography, pyarrow) cost a no-op pull ~30 ms, 7 % of its wall time,
and buys nothing. Every file the engine writes is closed and fsynced inside the command; what a
normal exit still does for anyone (other threads finish, atexit handlers run, stdio is flushed)
is done first.

The process also runs without numpy (`hide_numpy`).
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from typing import NoReturn

FLUSH_FAILED_EXIT = 120
"""Python's own exit status when flushing stdout or stderr at exit fails."""


def main(argv: list[str] | None = None) -> int:
    """`usr ARGS`; with `argv` None, the process's own arguments and exit code."""
    args = sys.argv[1:] if argv is None else argv
    if args == ["--version"]:
        from usr_harness import __version__

        print(f"usr {__version__}")
        return 0
    if argv is None:
        hide_numpy()
    from usr_harness.cli.usr.app import main as app_main

    if argv is not None:
        return app_main(argv)
    end_process(app_main(args))


def hide_numpy() -> None:
    """usr's own process has no use for numpy: the engine and the dataset layer never touch it, and
    pyarrow (16 and later) runs without it. Loaded anyway, numpy was half of pyarrow's import
    (43 of 85 ms) in every command that reads parquet, such as each pull that moves a file.
    `import numpy` raises ImportError in this process from here on; a process that loaded numpy
    or pyarrow already is left as it is."""
    if "numpy" not in sys.modules and "pyarrow" not in sys.modules:
        sys.modules["numpy"] = None  # type: ignore[assignment]


def end_process(code: int) -> NoReturn:
    """Exit with `code` as a normal exit would, minus the teardown (see the module's docstring)."""
    current = threading.current_thread()
    for thread in threading.enumerate():
        if thread is not current and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            code = code or FLUSH_FAILED_EXIT
    os._exit(code)
