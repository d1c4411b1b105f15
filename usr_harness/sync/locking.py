"""The dataset locks a sync command takes on each side, and the local recovery before it reads.

Apart from `engine.py` so the order of steps stays short; the engine calls these in its order.
"""

from __future__ import annotations

import os

from usr_harness.dataset.flock import LockTimeout, acquire_dataset, release_all
from usr_harness.errors import LockError
from usr_harness.sync.commit import promotion
from usr_harness.sync.state import SyncRun
from usr_harness.sync.transport import Transport


def recover_local(state: SyncRun) -> None:
    """Roll a committed local promotion forward (under the local lock) before anything reads the side."""
    folder = str(state.local_dir)
    if promotion.needs_recovery(folder):
        held = lock_local(state)
        try:
            for note in promotion.recover(folder):
                state.request.echo(f"recovery: local {state.request.dataset}: {note}")
        finally:
            release_all(held)


def lock_local(state: SyncRun) -> list:
    """The local dataset's exclusive lock; held until `release_all`, a timeout is a lock error."""
    os.makedirs(state.local_dir, exist_ok=True)
    try:
        return acquire_dataset(str(state.local_dir), exclusive=True, timeout=state.request.opts.lock_timeout)
    except LockTimeout as error:
        raise LockError(f"local {state.request.dataset}: {error}", paths=[error.path]) from None


def lock_remote(state: SyncRun, agent: Transport, *, exclusive: bool) -> None:
    """Held by the agent for as long as the channel lives; a push writes, a pull only reads."""
    request = state.request
    agent.request(
        {
            "op": "lock",
            "dataset": request.dataset,
            "exclusive": exclusive,
            "timeout": request.opts.lock_timeout,
        }
    )
