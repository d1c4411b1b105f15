"""Named fault points inside the engine that a drill can arm through the environment.

`USR_HARNESS_FAULT_POINT=<name>[:raise|:kill|:stop][@<n>]` arms one point: the n-th time
(default 1st) the engine passes it, it raises `FaultInjected`, kills the process
with SIGKILL, as a crash would, or stops it with SIGSTOP, so a drill can act while
the command is held there (another command, a writer) and then continue or kill it.
The variable is read only when set, so an unarmed engine pays one dictionary lookup per point.
"""

from __future__ import annotations

import os
import signal

ENV_VAR = "USR_HARNESS_FAULT_POINT"

POINTS = (
    "before-staging",
    "mid-transfer",
    "after-staging",
    "mid-promotion",
    "before-post-verify",
)

ACTIONS = ("raise", "kill", "stop")

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


def fault_point(name: str) -> None:
    """Mark that the engine reached `name`; fire if the environment armed it."""
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
    raise FaultInjected(f"fault point {name} fired")
