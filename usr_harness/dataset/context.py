"""Who writes and when: injected so seeded generators produce byte-identical files."""

from __future__ import annotations

import itertools
import os
import random
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta


@dataclass(frozen=True)
class Actor:
    tool: str
    run_id: str
    host: str
    pid: int

    def as_dict(self) -> dict[str, object]:
        return {"tool": self.tool, "run_id": self.run_id, "host": self.host, "pid": self.pid}


def utc_now() -> datetime:
    return datetime.now(UTC)


def _random_hex() -> str:
    return uuid.uuid4().hex[:16]


@dataclass(frozen=True)
class WriteContext:
    """Clock, actor and randomness used by every dataset write."""

    clock: Callable[[], datetime] = utc_now
    actor: Actor = field(
        default_factory=lambda: Actor("usr", uuid.uuid4().hex[:12], socket.gethostname(), os.getpid())
    )
    random_hex: Callable[[], str] = _random_hex
    root_label: str | None = None
    """Written as the event's `dataset.root` instead of the real path, so seeded data is path-independent."""


def seeded_context(seed: int, *, start: datetime | None = None, tool: str = "usr-harness") -> WriteContext:
    """A context whose clock ticks one millisecond per reading and whose randomness comes from `seed`."""
    origin = start or datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=seed % 86_400)
    ticks = itertools.count()
    rng = random.Random(seed)
    return WriteContext(
        clock=lambda: origin + timedelta(milliseconds=next(ticks)),
        actor=Actor(tool, f"seed-{seed}", "mock-host", 0),
        random_hex=lambda: f"{rng.getrandbits(64):016x}",
        root_label=f"seeded-root-{seed}",
    )
