"""sha256 by inode for one command, so a file read or written once is not hashed again.

A pull or push looks at the same files up to four times (the first look, the
re-plan under the locks, the staged-file check, the post-verify); a 1 GiB primary
costs 0.7 s to hash each time. An entry is used only while its inode's size,
mtime and ctime are unchanged: any write, truncate or `touch` changes the ctime,
and the dataset layer replaces files by rename, which brings a new inode. A file
whose ctime or mtime is within `RACY_NS` of the moment it was hashed is not
cached: a second write inside one timestamp tick could leave its stat unchanged
(git's "racily clean" rule). Files this process wrote itself are remembered with
the hash of the bytes it wrote. `start` hashes in a background thread, so the agent
can hash a file a pull does not have yet while it streams that file (a 1 GiB
primary no longer waits 0.7 s for its hash before its first byte moves). One cache
lives for one command (the engine's run, the agent's channel); what it read and can vouch
for outlives it in `hash_store.HashStore`. Stdlib only: the agent ships it.
"""

from __future__ import annotations

import hashlib
import os
import queue
import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from concurrent.futures import Future

CHUNK = 1 << 20
"""Read size for hashing and streaming (here, below `scan`, so the two never import each other)."""

RACY_NS = 2_000_000_000
"""Generous against coarse timestamps (Lustre and some NFS servers keep whole seconds)."""


def racy(info: os.stat_result, hashed_ns: int) -> bool:
    """Whether a write could have followed a read begun at `hashed_ns` without moving the timestamps."""
    return max(info.st_mtime_ns, info.st_ctime_ns) >= hashed_ns - RACY_NS


def _stat_key(info: os.stat_result) -> tuple[int, int, int]:
    return info.st_size, info.st_mtime_ns, info.st_ctime_ns


def _inode(info: os.stat_result) -> tuple[int, int]:
    return info.st_dev, info.st_ino


class HashCache:
    def __init__(self) -> None:
        self._known: dict[tuple[int, int], tuple[tuple[int, int, int], str, int]] = {}
        self._running: dict[tuple[int, int], tuple[tuple[int, int, int], Future]] = {}
        self._queue: queue.SimpleQueue | None = None
        self.reads = 0
        """Files read whole to hash them: what a warm cache saves."""
        self.bytes_read = 0
        self.read_seconds = 0.0
        """Bytes those reads hashed and their wall seconds (the background thread's included)."""

    def sha256(self, path: str) -> str:
        """The file's sha256, from the cache while its inode is unchanged since it was hashed."""
        info = os.stat(path)
        hit = self._known.get(_inode(info))
        if hit is not None and hit[0] == _stat_key(info):
            return hit[1]
        running = self._running.pop(_inode(info), None)
        if running is not None and running[0] == _stat_key(info):
            try:
                sha256, stable = running[1].result()
            except OSError:
                stable = None
            if stable == _stat_key(info):
                return sha256
        return self._read(path)[0]

    def start(self, path: str) -> None:
        """Hash the file in a background thread; `sha256(path)` later waits for that instead of reading.

        One daemon thread hashes in the order asked, so a process that ends early never
        waits for it.
        """
        info = os.stat(path)
        current = _stat_key(info)
        if any(
            entry and entry[0] == current
            for entry in (self._known.get(_inode(info)), self._running.get(_inode(info)))
        ):
            return
        if self._queue is None:
            self._queue = queue.SimpleQueue()
            threading.Thread(target=self._work, args=(self._queue,), name="usr-hash", daemon=True).start()
        from concurrent.futures import Future  # only a streamed pull hashes in the background

        future: Future = Future()
        self._running[_inode(info)] = (current, future)
        self._queue.put((path, future))

    def _work(self, jobs: queue.SimpleQueue) -> None:
        while True:
            path, future = jobs.get()
            try:
                future.set_result(self._read(path))
            except OSError as error:
                future.set_exception(error)

    def _read(self, path: str) -> tuple[str, tuple[int, int, int] | None]:
        """The hash, and the stat it holds for when the read was stable and not racy (else None)."""
        started = time.time_ns()
        clock = time.perf_counter()
        digest = hashlib.sha256()
        with open(path, "rb", buffering=0) as handle:
            before = os.fstat(handle.fileno())
            for block in iter(lambda: handle.read(CHUNK), b""):
                digest.update(block)
            after = os.fstat(handle.fileno())
        sha256 = digest.hexdigest()
        self.reads += 1
        self.bytes_read += after.st_size
        self.read_seconds += time.perf_counter() - clock
        if _stat_key(before) != _stat_key(after) or racy(before, started):
            return sha256, None
        self.remember(before, sha256, started)
        return sha256, _stat_key(before)

    def remember(self, info: os.stat_result, sha256: str, hashed_ns: int | None = None) -> None:
        """Record the hash of an inode whose bytes this process wrote or read whole.

        `hashed_ns` is when the read began; bytes just written count as hashed now, so they stay
        racy (and out of the persisted cache) until a later command reads them back.
        """
        when = time.time_ns() if hashed_ns is None else hashed_ns
        self._known[_inode(info)] = (_stat_key(info), sha256, when)

    def entry(self, info: os.stat_result) -> tuple[str, int] | None:
        """(sha256, when its read began) for this exact stat, when this command hashed or wrote it."""
        hit = self._known.get(_inode(info))
        if hit is None or hit[0] != _stat_key(info):
            return None
        return hit[1], hit[2]

    def renamed(self, before: os.stat_result, after: os.stat_result) -> None:
        """Our own rename changed the inode's ctime and nothing else: keep its entry valid."""
        hit = self._known.get(_inode(before))
        unchanged = (before.st_size, before.st_mtime_ns) == (after.st_size, after.st_mtime_ns)
        if hit is not None and hit[0] == _stat_key(before) and _inode(before) == _inode(after) and unchanged:
            self.remember(after, hit[1], hit[2])
