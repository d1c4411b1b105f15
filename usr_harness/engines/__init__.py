"""Drive a `usr`-compatible engine: the bundled one in-process, or any command line."""

from usr_harness.engines.adapter import BundledEngine, CommandEngine, Engine, EngineResult, engine_from_cmd

__all__ = ["BundledEngine", "CommandEngine", "Engine", "EngineResult", "engine_from_cmd"]
