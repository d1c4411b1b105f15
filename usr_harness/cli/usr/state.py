"""The root `usr` options every command reads: a module of its own so command groups never import the app."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import typer


@dataclass(frozen=True)
class UsrState:
    root: Path
    remotes_config: Path | None


def state(ctx: typer.Context) -> UsrState:
    return ctx.find_root().obj
