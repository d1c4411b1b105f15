"""The agent protocol's version and its one failure type, and the fault points a drill may arm on the remote.

Stdlib only: bundled into the agent (`near/bundle.py`), below `agent` and `staging_ops`, which both raise it.
"""

from __future__ import annotations

from usr_harness.sync.hooks import FaultInjected, fire

PROTOCOL_VERSION = 1


class AgentFailure(Exception):
    def __init__(self, family: str, message: str, paths: list | None = None) -> None:
        super().__init__(message)
        self.family = family
        self.message = message
        self.paths = paths or []


def fault_step(action: str | None, point: str = "mid-promotion", folder: str | None = None):
    """A drill can make the agent die, fail, stop or fill its disk at a fault point (a crash, a hang)."""
    if action not in ("kill", "stop", "raise", "fill") or (action == "fill" and folder is None):
        return None

    def step() -> None:
        try:
            fire(action, folder, point)
        except FaultInjected:
            raise AgentFailure("staging", f"fault point {point} fired on the remote") from None

    return step


def fire_step(step) -> None:
    if step is not None:
        step()
