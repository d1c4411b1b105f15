"""Drive a `usr`-compatible engine under a profile: the bundled one in-process, or any command line."""

from usr_harness.engines.adapter import (
    Engine,
    EngineHung,
    EngineResult,
    RunningCommand,
    engine_calls,
    make_engine,
)
from usr_harness.engines.profile import CAPABILITIES, EngineProfile, builtin_profiles, load_profile
from usr_harness.engines.remotes import RemoteSpec, RemoteWiring, wire_remote

__all__ = [
    "CAPABILITIES",
    "Engine",
    "EngineHung",
    "EngineProfile",
    "EngineResult",
    "RemoteSpec",
    "RemoteWiring",
    "RunningCommand",
    "builtin_profiles",
    "engine_calls",
    "load_profile",
    "make_engine",
    "wire_remote",
]
