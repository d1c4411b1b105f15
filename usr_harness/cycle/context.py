"""What a cycle is run with (`CycleConfig`) and what its steps hand each other (`CycleContext`)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from usr_harness.engines import Engine
    from usr_harness.hosts.loopback import LoopbackSshd

CYCLE_DATASET = "cycle"
REMOTE_NAME = "hpc"


@dataclass
class CycleConfig:
    run_dir: Path
    seed: int = 1729
    engine_cmd: str | None = None
    engine_profile: str | None = None
    drills_path: Path | None = None
    drills_expr: str | None = None
    scale: str = "small"
    workers: int = 0
    remote_options: tuple[str, ...] = ()  # drill options choosing another remote than loopback
    progress: Callable[[str], None] = lambda _message: None


@dataclass
class CycleContext:
    """The cycle's state, filled in by its steps in order; a field stays None until its step has run.

    `stack` holds what must be stopped when the cycle ends (the loopback sshd).
    """

    config: CycleConfig
    stack: ExitStack
    versions: dict[str, str] = field(default_factory=dict)
    host: LoopbackSshd | None = None
    remote_root: Path | None = None
    local_root: Path | None = None
    engine: Engine | None = None

    @property
    def run_dir(self) -> Path:
        return self.config.run_dir

    @property
    def evidence_dir(self) -> Path:
        folder = self.run_dir / "evidence"
        folder.mkdir(exist_ok=True)
        return folder

    def require_engine(self) -> Engine:
        """The engine `preflight:host-up` made; a step that needs it runs only after that step passed."""
        if self.engine is None:
            raise RuntimeError("no engine: preflight:host-up has not passed")
        return self.engine

    def roots(self) -> tuple[Path, Path]:
        """(local root, remote root), as `preflight:host-up` made them."""
        if self.local_root is None or self.remote_root is None:
            raise RuntimeError("no dataset roots: preflight:host-up has not passed")
        return self.local_root, self.remote_root
