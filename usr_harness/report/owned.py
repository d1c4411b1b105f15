"""Every byte an engine owns under a datasets root, and its runtime files in the state they must be in.

"A failed command changed nothing" is judged on this, not on the datasets alone: the
sync state beside them (`.usr-sync/`: the last-sync records) is compared byte for
byte at every depth; stage folders, promotion journals, temp files and leases must
not exist once a command has returned; lock files may exist but no one may hold
them. Two things are left out of the bytes, named here: a lock file's content (the
holder line every acquisition rewrites; judged by "not held" instead) and the hash
cache under `.usr-sync/hashes/` (any command may refresh it; the cached-hash drill
judges that it is right).
"""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass
from pathlib import Path

from usr_harness.dataset.layout import (
    DATASET_LOCK,
    EVENTS_LOCK,
    JOURNAL_MARKER,
    LEASE_PREFIX,
    REGISTRY_LOCK,
    STAGE_MARKER,
    SYNC_STATE_DIR,
    TEMP_PREFIX,
    TRANSFER_LOCK,
)
from usr_harness.report.fingerprint import TreeFingerprint, compare, fingerprint_tree

LOCK_NAMES = frozenset({DATASET_LOCK, EVENTS_LOCK, TRANSFER_LOCK, REGISTRY_LOCK})
CACHE_DIR = f"{SYNC_STATE_DIR}/hashes"
"""The hash cache; the empty `.usr-sync` folder a first cache write makes is no change either."""


@dataclass(frozen=True)
class OwnedState:
    """One datasets root: its owned bytes and what is wrong with its runtime files (empty: settled)."""

    fingerprint: TreeFingerprint
    leftovers: tuple[str, ...]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, OwnedState):
            return NotImplemented
        return self.fingerprint.digest == other.fingerprint.digest and self.leftovers == other.leftovers

    def __hash__(self) -> int:
        return hash((self.fingerprint.digest, self.leftovers))

    def __repr__(self) -> str:
        return f"OwnedState({self.fingerprint.digest[:12]}, leftovers={list(self.leftovers)})"

    def changes_since(self, before: OwnedState) -> list[str]:
        """Readable lines: what differs in bytes, and each runtime file newly in the wrong state."""
        fresh = [line for line in self.leftovers if line not in before.leftovers]
        return compare(before.fingerprint, self.fingerprint).lines() + fresh


def owned_state(root: Path) -> OwnedState:
    """Fingerprint every byte the engine owns under `root` and check its runtime files."""
    full = fingerprint_tree(root, exclude_runtime=False)
    kept = [
        entry
        for entry in full.entries
        if entry.path not in (SYNC_STATE_DIR, CACHE_DIR)
        and not entry.path.startswith(CACHE_DIR + "/")
        and entry.path.rsplit("/", 1)[-1] not in LOCK_NAMES
    ]
    if full.digest != "absent":
        full = TreeFingerprint.of(kept)
    return OwnedState(full, tuple(_leftovers(root)))


def _leftovers(root: Path) -> list[str]:
    found = []
    if not root.is_dir():
        return found
    for folder, dirs, files in os.walk(root):
        for name in sorted(dirs + files):
            path = Path(folder) / name
            relative = path.relative_to(root).as_posix()
            if STAGE_MARKER in name or JOURNAL_MARKER in name or name.startswith((TEMP_PREFIX, LEASE_PREFIX)):
                found.append(f"left behind: {relative}")
            elif name in LOCK_NAMES and path.is_file() and not path.is_symlink() and _held(path):
                found.append(f"lock still held: {relative}")
    return found


def _held(path: Path) -> bool:
    """Someone holds the lock: a non-blocking exclusive flock on it is refused."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(descriptor)
    return False
