"""Assemble the remote agent: a single self-contained stdlib program from the shared modules.

The modules listed here are stdlib-only and import each other only with
`from usr_harness... import ...` statements, which the bundle drops because the
names are already defined earlier in the same program.
"""

from __future__ import annotations

import functools
import shlex
from importlib import resources

AGENT_MODULES = (
    "dataset/quoting.py",
    "dataset/layout.py",
    "dataset/flock.py",
    "dataset/journal.py",
    "sync/inventory/hash_cache.py",
    "sync/inventory/hash_store.py",
    "sync/inventory/scan.py",
    "sync/commit/promotion.py",
    "sync/move/space.py",
    "sync/move/chunks.py",
    "sync/hooks.py",
    "sync/timings.py",
    "sync/remote/far/pipes.py",
    "sync/remote/far/file_agent.py",
    "sync/remote/far/protocol.py",
    "sync/remote/far/listing.py",
    "sync/remote/far/staging_ops.py",
    "sync/remote/far/agent.py",
)

LOADER_MODULE = "sync/remote/far/loader.py"
"""Sent ahead of the agent: it runs the agent from a compile cache kept on the remote."""

BOOTSTRAP = (
    "import sys;n=int(sys.stdin.buffer.readline());"
    "exec(compile(sys.stdin.buffer.read(n),'usr-loader','exec'),{'__name__':'__main__'})"
)


@functools.cache
def agent_source() -> bytes:
    """The agent program text, identical for every call in a process."""
    package = resources.files("usr_harness")
    lines = ["from __future__ import annotations"]
    for module in AGENT_MODULES:
        in_import = False
        for line in package.joinpath(module).read_text(encoding="utf-8").splitlines():
            if in_import:
                in_import = line != ")"
            elif line.startswith(("from usr_harness", "from __future__")):
                in_import = line.endswith("(")
            else:
                lines.append(line)
    return ("\n".join(lines) + "\n").encode("utf-8")


@functools.cache
def loader_source() -> bytes:
    """The loader the bootstrap runs first (`far/loader.py`): it reads the agent and runs it."""
    return resources.files("usr_harness").joinpath(LOADER_MODULE).read_bytes()


def agent_payload() -> bytes:
    """What the exec channel's stdin gets first: the loader, then the agent, each after its size."""
    loader, program = loader_source(), agent_source()
    return b"%d\n%s%d\n%s" % (len(loader), loader, len(program), program)


def agent_command(python: str) -> str:
    """The exec-channel command that reads the agent from stdin and runs it.

    `-S`: the agent is stdlib only, so the interpreter skips `site` and its .pth files (17 -> 6 ms
    of every remote start, measured for a venv with an editable install).
    """
    return f"{shlex.quote(python)} -S -u -c {shlex.quote(BOOTSTRAP)}"
