"""Dataset locks: fcntl.flock on `.usr.lock` (every mutation) and `.events.lock` (every event append).

Polling with a bounded wait turns a stuck writer into a LockError that names the
holder (host and pid written into the lock file) instead of a silent hang. Lock files
are runtime files: never renamed, never deleted, so every process locks the same inode.
Order is always `.usr.lock` then `.events.lock`.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from usr_harness.dataset.context import WriteContext
from usr_harness.dataset.flock import LockTimeout, acquire
from usr_harness.dataset.layout import DATASET_LOCK, EVENTS_LOCK
from usr_harness.dataset.quoting import quote
from usr_harness.errors import LockError

DEFAULT_TIMEOUT = 30.0


def _identity(ctx: WriteContext | None) -> str:
    if ctx is None:
        return f"host={socket.gethostname()} pid={os.getpid()}"
    return f"host={ctx.actor.host} pid={ctx.actor.pid}"


@contextmanager
def file_lock(
    path: Path, *, exclusive: bool = True, timeout: float = DEFAULT_TIMEOUT, ctx: WriteContext | None = None
) -> Iterator[None]:
    """Hold an flock on `path` (created if missing) for the duration of the block."""
    path = Path(path)
    try:
        held = acquire(str(path), exclusive=exclusive, timeout=timeout, holder=_identity(ctx))
    except FileNotFoundError:
        raise LockError(
            f"{quote(path)}: cannot lock, folder {quote(path.parent)} does not exist", paths=[str(path)]
        ) from None
    except LockTimeout as timed_out:
        holder = timed_out.holder or "an unknown process"
        raise LockError(
            f"{quote(path)}: lock is held by {holder}; gave up after {timeout:g} s", paths=[str(path)]
        ) from None
    try:
        yield
    finally:
        held.release()


@contextmanager
def dataset_lock(
    dataset_dir: Path,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    ctx: WriteContext | None = None,
    exclusive: bool = True,
) -> Iterator[None]:
    """The dataset write lock (`.usr.lock`), held around every mutation."""
    with file_lock(Path(dataset_dir) / DATASET_LOCK, exclusive=exclusive, timeout=timeout, ctx=ctx):
        yield


@contextmanager
def events_lock(
    dataset_dir: Path,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    ctx: WriteContext | None = None,
    exclusive: bool = True,
) -> Iterator[None]:
    """The event-log lock (`.events.lock`), held around every append; taken after `.usr.lock`."""
    with file_lock(Path(dataset_dir) / EVENTS_LOCK, exclusive=exclusive, timeout=timeout, ctx=ctx):
        yield
