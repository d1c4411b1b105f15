"""What a pull and a push share while files move: the observer's counters, the audit numbers, a fault."""

from __future__ import annotations

from collections.abc import Callable

from usr_harness.sync.hooks import fault_point
from usr_harness.sync.inventory.manifest import Manifest
from usr_harness.sync.plan.model import Plan
from usr_harness.sync.record.audit import TransferBlock
from usr_harness.sync.state import SyncRun


def mid_transfer_fault() -> Callable[[], None]:
    """A per-file callback that fires the `mid-transfer` fault point once the first file has moved."""
    moved = 0

    def on_file() -> None:
        nonlocal moved
        moved += 1
        if moved == 1:
            fault_point("mid-transfer")

    return on_file


def moving(state: SyncRun, plan: Plan, source: Manifest, counters: Callable[[], tuple[int, int]]) -> None:
    """Tell the observer what is about to move; it reads the channel's counters from here on."""
    files0, bytes0 = counters()

    def moved() -> tuple[int, int]:
        files, sent = counters()
        return files - files0, sent - bytes0

    total = sum(source.files[path].size for path in plan.copy)
    state.request.progress.transfer(len(plan.copy), total, moved)


def transfer_block(plan: Plan, moved: int) -> TransferBlock:
    return {"files": len(plan.copy), "bytes": moved, "deleted": len(plan.delete)}
