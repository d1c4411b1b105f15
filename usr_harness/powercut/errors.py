"""The power-cut layer's named errors: a drill skips on `FuseUnavailable`, fails on the others."""

from __future__ import annotations


class PowerCutError(Exception):
    """Base of every failure of the power-cut layer (a bad log, a mount that would not come up)."""


class FuseUnavailable(PowerCutError):
    """FUSE cannot be used on this machine; `reason` says what is missing, for a skip message."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"FUSE unavailable: {reason}")
        self.reason = reason
