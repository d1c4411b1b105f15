"""Named fault points inside the engine that a drill can arm through the environment.

`USR_HARNESS_FAULT_POINT=<name>[:raise|:kill|:stop|:fill][@<n>]` arms one point: the n-th time
(default 1st) the engine passes it, it raises `FaultInjected`, kills the process with
SIGKILL, as a crash would, stops it with SIGSTOP, so a drill can act while the command is
held there (another command, a writer) and then continue or kill it, or (`fill`, at a
point that names its folder) takes every free byte of that folder's filesystem, as
another writer filling the disk would. The variable is read only when set, so an unarmed
engine pays one dictionary lookup per point. Stdlib only: the agent ships `fill_space`
for the remote side of a push.
"""

from __future__ import annotations

import errno
import os
import signal

ENV_VAR = "USR_HARNESS_FAULT_POINT"
ACTIONS = ("raise", "kill", "stop", "fill")
FILLER = "fault-filler"
"""The file `fill` writes in the folder it is given (a stage, so removing the stage frees the space)."""

POINTS = (
    "before-staging",
    "after-preflight",
    "mid-transfer",
    "after-staging",
    "mid-promotion",
    "before-post-verify",
)

_passes: dict[str, int] = {}


class FaultInjected(RuntimeError):
    """Raised at an armed fault point with action `raise`."""


def parse_spec(spec: str) -> tuple[str, str, int]:
    """Split `name[:action][@n]` into its parts, refusing unknown names and actions."""
    count = 1
    if "@" in spec:
        spec, _, raw = spec.rpartition("@")
        count = int(raw)
    name, _, action = spec.partition(":")
    action = action or "raise"
    if name not in POINTS:
        raise ValueError(f"unknown fault point {name!r}; known: {', '.join(POINTS)}")
    if action not in ACTIONS:
        raise ValueError(f"unknown fault action {action!r}; use {', '.join(ACTIONS)}")
    return name, action, count


def fill_space(folder: str) -> None:
    """Take every free byte of `folder`'s filesystem with one file in `folder`."""
    info = os.statvfs(folder)
    free = info.f_bavail * info.f_frsize
    descriptor = os.open(os.path.join(folder, FILLER), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        while free > 0:
            try:
                os.posix_fallocate(descriptor, 0, free)
                return
            except OSError as error:
                if error.errno != errno.ENOSPC:
                    raise
                free -= info.f_frsize
    finally:
        os.close(descriptor)


def fault_point(name: str, folder: str | None = None) -> None:
    """Mark that the engine reached `name`; fire if the environment armed it (`fill` needs `folder`)."""
    spec = os.environ.get(ENV_VAR)
    if not spec:
        return
    armed, action, count = parse_spec(spec)
    if armed != name:
        return
    _passes[name] = _passes.get(name, 0) + 1
    if _passes[name] != count:
        return
    if action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if action == "stop":
        os.kill(os.getpid(), signal.SIGSTOP)
        return
    if action == "fill" and folder is not None:
        fill_space(folder)
        return
    raise FaultInjected(f"fault point {name} fired")
