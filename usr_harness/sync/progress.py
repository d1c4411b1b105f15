"""Progress of one sync command as events: the engine reports them, a front end renders them.

The engine never formats or prints progress. It names each phase as it starts and, when
files start to move, hands the observer their count, their total size and a counter of
what has moved so far (read from the agent channel's own byte counts), which a renderer
polls at its own pace. `SILENT` is the observer when nobody watches.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

PHASES = ("connect", "compare", "transfer", "verify", "promote", "post-verify")
"""In order; `transfer` starts with `Observer.transfer`, the others with `Observer.phase`."""

Moved = Callable[[], tuple[int, int]]
"""(files, bytes) moved so far in this transfer."""


class Observer(Protocol):
    def phase(self, name: str) -> None:
        """A phase of `PHASES` starts (the one before it has ended)."""

    def transfer(self, files: int, total_bytes: int, moved: Moved) -> None:
        """Files start to move: `moved()` may be called from any thread, as often as wanted."""


class Silent:
    """Watches nothing: the engine's default, and `--quiet`."""

    def phase(self, name: str) -> None:
        return None

    def transfer(self, files: int, total_bytes: int, moved: Moved) -> None:
        return None


SILENT = Silent()


def interrupted_line(action: str, dataset: str, phase: str | None, kind: str = "dataset") -> str:
    """What Ctrl-C left behind, in one line, from the last phase the command had reached.

    `kind` is `file` in file mode, where promotion is one rename (no journal).
    """
    where = f"{action} of {dataset} interrupted"
    if phase in (None, "connect", "compare", "transfer", "verify"):
        during = f" during {phase}" if phase else ""
        return f"{where}{during}: nothing was promoted, both sides are as they were (staging removed)"
    side = "local" if action == "pull" else "remote"
    if phase == "promote" and kind == "file":
        return (
            f"{where} during promotion: the {side} file is wholly old or wholly new (one rename); "
            f"run `usr diff {dataset} REMOTE` to see which"
        )
    if phase == "promote":
        return (
            f"{where} during promotion: the {side} dataset is wholly old or wholly new (a written "
            f"journal is rolled forward by the next command); run `usr diff {dataset} REMOTE` to see which"
        )
    return (
        f"{where} after promotion: the {side} {kind} is new, its post-transfer check did not finish; "
        f"run `usr diff {dataset} REMOTE`"
    )
