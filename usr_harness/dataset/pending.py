"""A dataset left mid-promotion by a killed sync: its writers complete the promotion before they write.

A pull or push killed after committing its promotion journal leaves the dataset
half old, half new. A writer that went ahead (an import on the HPC side, an attach
on the laptop) would write into that torn state, and the next sync's roll-forward
would then replace its work. So a mutation completes the pending journal first,
under the dataset lock it holds, and an event append outside a mutation refuses
(it does not hold `.usr.lock`, so it may not roll anything forward).
"""

from __future__ import annotations

from pathlib import Path

from usr_harness.dataset.context import WriteContext
from usr_harness.dataset.journal import JournalConflict, apply_journal, journal_path, journal_pending
from usr_harness.dataset.locks import events_lock
from usr_harness.errors import StagingError


def mid_promotion_message(dataset_id: str, dataset_dir: Path) -> str:
    return (
        f"{dataset_id}: dataset is mid-promotion: an interrupted sync left journal "
        f"{journal_path(str(dataset_dir))!r}; `usr recover {dataset_id}` "
        "(or any write or sync of it) completes it"
    )


def complete_pending_promotion(
    dataset_dir: Path, dataset_id: str, *, timeout: float, ctx: WriteContext | None
) -> bool:
    """Roll a pending journal forward; the caller holds `.usr.lock`. True when there was one."""
    if not journal_pending(str(dataset_dir)):
        return False
    with events_lock(dataset_dir, timeout=timeout, ctx=ctx):
        try:
            apply_journal(str(dataset_dir))
        except JournalConflict as conflict:
            raise StagingError(f"{dataset_id}: {conflict}", paths=[conflict.relpath]) from None
    return True


def refuse_if_mid_promotion(dataset_dir: Path, dataset_id: str) -> None:
    """For writers that hold no `.usr.lock` and so may not complete the journal themselves."""
    if journal_pending(str(dataset_dir)):
        raise StagingError(
            mid_promotion_message(dataset_id, dataset_dir), paths=[journal_path(str(dataset_dir))]
        )
