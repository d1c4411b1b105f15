"""The shape of an adversarial case and of its outcome: plain data the drills parametrize over."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

ENTRY_POINTS = ("import", "attach", "namespace-register", "validate-strict", "pull")


@dataclass(frozen=True)
class CaseEnv:
    """Where a case builds its input: a datasets root holding a fresh valid dataset, plus scratch space.

    `remote_root` is the base_dir a `pull` case plants its hostile dataset in.
    """

    root: Path
    dataset_id: str
    seed: int
    workdir: Path
    remote_root: Path | None = None

    @property
    def dataset_dir(self) -> Path:
        return self.root / self.dataset_id


@dataclass(frozen=True)
class HostileInput:
    """What the entry point is called with; cases that plant files on disk return the defaults."""

    table: pa.Table | None = None
    path: Path | None = None
    namespace: str = "densegen"
    key: str = "id"
    columns: tuple[tuple[str, str], ...] = ()

    @property
    def payload(self) -> pa.Table | Path:
        if self.table is not None:
            return self.table
        if self.path is not None:
            return self.path
        raise ValueError("hostile input carries neither a table nor a path")


@dataclass(frozen=True)
class AdversarialCase:
    """One hostile input and the rejection it must draw (`expected_family` None: it must be accepted)."""

    id: str
    description: str
    entry_point: str
    build: Callable[[CaseEnv], HostileInput]
    expected_family: str | None
    expected_token: str = ""
    needs_engine: bool = False

    def __post_init__(self) -> None:
        if self.entry_point not in ENTRY_POINTS:
            raise ValueError(f"case {self.id}: entry point {self.entry_point!r} not in {ENTRY_POINTS}")
        if self.needs_engine != (self.entry_point == "pull"):
            raise ValueError(f"case {self.id}: exactly the pull cases need the sync engine")


@dataclass(frozen=True)
class CaseOutcome:
    """What a case drew.

    `family` is None when the input was accepted and the dataset then validated strictly.
    `derived_unchanged` is False only when a rejection still altered `_derived`.
    `skipped` says why the case was not run (e.g. no sync engine wired); a skip is never a pass.
    """

    case_id: str
    family: str | None
    message: str
    matched: bool
    derived_unchanged: bool
    skipped: str | None = None
