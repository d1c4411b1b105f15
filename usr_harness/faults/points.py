"""Named fault points inside the engine that a drill arms through the environment.

`USR_HARNESS_FAULT_POINT=<name>[:raise|:kill|:stop|:fill][@<n>]` arms one point: the n-th time
(default 1st) the engine passes it, it raises `FaultInjected`, kills the process with
SIGKILL, as a crash would, stops it with SIGSTOP, so a drill can act while the command is
held there (another command, a writer) and then continue or kill it, or (`fill`, at a
point that names its folder) takes every free byte of that folder's filesystem, as
another writer filling the disk would.

The engine knows nothing of this: it calls whatever hook `USR_SYNC_HOOKS` names, and
`armed_env` names `hook` here. An engine that has no such hooks ignores both variables.
"""

from __future__ import annotations

import os

from usr_harness.sync.hooks import HOOKS_ENV, fire

ENV_VAR = "USR_HARNESS_FAULT_POINT"
ACTIONS = ("raise", "kill", "stop", "fill")

POINTS = (
    "before-staging",
    "after-preflight",
    "mid-transfer",
    "after-staging",
    "mid-promotion",
    "before-post-verify",
)


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


class EnvFaultHook:
    """The engine's `FaultHook`, armed by `USR_HARNESS_FAULT_POINT` (read at each point, so an
    unarmed process pays one dictionary lookup); passes are counted per point."""

    def __init__(self) -> None:
        self.passes: dict[str, int] = {}

    def _armed(self) -> tuple[str, str, int] | None:
        spec = os.environ.get(ENV_VAR)
        return parse_spec(spec) if spec else None

    def at(self, name: str, folder: str | None) -> None:
        armed = self._armed()
        if armed is None or armed[0] != name:
            return
        self.passes[name] = self.passes.get(name, 0) + 1
        if self.passes[name] == armed[2]:
            fire(armed[1], folder, name)

    def remote_action(self, point: str) -> str | None:
        armed = self._armed()
        return armed[1] if armed is not None and armed[0] == point else None


hook = EnvFaultHook()


def armed_env(spec: str) -> dict[str, str]:
    """The environment that arms `spec` in an engine process: the point, and this module's hook."""
    parse_spec(spec)
    return {ENV_VAR: spec, HOOKS_ENV: "usr_harness.faults.points:hook"}
