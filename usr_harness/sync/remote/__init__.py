"""The remote side's public front: remote profiles and an SSH session, for code outside the engine.

hosts/, corrupt/, faults/, report/ and drills use these names alone, never the
modules behind them, so the engine can change how it talks to a remote without
the harness following. Names load on first use: the `usr` command imports
submodules of this package and must not pay for paramiko when it does not open
a session.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from usr_harness.sync.remote.near.connect import connect_agent
    from usr_harness.sync.remote.near.profiles import RemoteProfile, get_profile, load_profiles
    from usr_harness.sync.remote.near.session import SshSession, open_session

_HOMES = {
    "RemoteProfile": "near.profiles",
    "get_profile": "near.profiles",
    "load_profiles": "near.profiles",
    "SshSession": "near.session",
    "open_session": "near.session",
    "connect_agent": "near.connect",
}

__all__ = [
    "RemoteProfile",
    "SshSession",
    "connect_agent",
    "get_profile",
    "load_profiles",
    "open_session",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{home}"), name)
