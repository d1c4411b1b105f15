"""fcntl locks on a dataset's `.usr.lock` / `.events.lock`, bounded waits, named holders.

Stdlib only: the agent ships it, and the lock dies with the process (or the SSH
channel that keeps the agent alive), so a dropped connection frees it.
"""

from __future__ import annotations

import fcntl
import os
import time

from usr_harness.dataset.layout import DATASET_LOCK, EVENTS_LOCK


class LockTimeout(Exception):
    def __init__(self, path: str, holder: str) -> None:
        super().__init__(f"timed out waiting for {path}" + (f" (held by {holder})" if holder else ""))
        self.path = path
        self.holder = holder


class HeldLock:
    def __init__(self, path: str, fd: int) -> None:
        self.path = path
        self.fd = fd

    def release(self) -> None:
        if self.fd >= 0:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = -1


def _holder(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read(200).strip()
    except OSError:
        return ""


def acquire(
    path: str, *, exclusive: bool = True, timeout: float = 30.0, holder: str | None = None
) -> HeldLock:
    """Take an flock on `path`, polling until `timeout`; record the holder (host and pid) when exclusive."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    mode = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB
    deadline = time.monotonic() + max(timeout, 0.0)
    delay = 0.01
    while True:
        try:
            fcntl.flock(fd, mode)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(fd)
                raise LockTimeout(path, _holder(path)) from None
            time.sleep(delay)
            delay = min(delay * 2, 0.2)
    if exclusive:
        os.ftruncate(fd, 0)
        identity = holder or f"host={os.uname().nodename} pid={os.getpid()}"
        os.pwrite(fd, f"{identity}\n".encode(), 0)
    return HeldLock(path, fd)


def acquire_dataset(dataset_dir: str, *, exclusive: bool, timeout: float) -> list[HeldLock]:
    """Both dataset locks in the fixed order `.usr.lock` then `.events.lock`."""
    held = [acquire(os.path.join(dataset_dir, DATASET_LOCK), exclusive=exclusive, timeout=timeout)]
    try:
        held.append(acquire(os.path.join(dataset_dir, EVENTS_LOCK), exclusive=exclusive, timeout=timeout))
    except BaseException:
        held[0].release()
        raise
    return held


def release_all(held: list[HeldLock]) -> None:
    for lock in reversed(held):
        lock.release()
