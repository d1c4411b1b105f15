"""sha256 per dataset file kept between commands, trusted only under git's racy-clean rule.

A no-op diff of a dataset that holds gigabytes should cost what its files cost (one stat
each), not what its bytes cost. Each side keeps one cache file per dataset under its own
`.usr-sync/hashes/` (the datasets root locally, the remote `base_dir` there), never inside the
dataset, so it is never inventoried or synced. An entry is keyed by the path inside the
dataset and holds the file's device, inode, size, mtime and ctime when it was hashed, the
moment the read began and the sha256. It is trusted only while the stat is exactly the same
and both timestamps are older than that moment minus `hash_cache.RACY_NS` (2 s): a write after the read always
moves the ctime (no one can set it back) past the recorded one, even on a filesystem that
keeps whole seconds. What it cannot see is damage that changes no metadata (media bit rot):
`--rehash` ignores the cache for one command.

The cache is a hint, never evidence: a file that is unreadable, truncated, from another
format version or whose own checksum fails is ignored and rebuilt, never an error. Writes
are temp + rename in the same folder, so two commands writing at once leave one whole file
(the last wins); there is no fsync, since a file torn by a crash fails its checksum and is
ignored. Stdlib only: the agent ships it.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import TYPE_CHECKING

from usr_harness.dataset.layout import SYNC_STATE_DIR, TEMP_PREFIX
from usr_harness.sync.inventory.hash_cache import racy

if TYPE_CHECKING:
    from usr_harness.sync.inventory.hash_cache import HashCache

CACHE_FORMAT = "usr-hash-cache"
CACHE_VERSION = 1
STORE_DIR = "hashes"


def store_path(state_root: str, dataset: str) -> str:
    """Where the cache of `dataset` lives under a side's root (the datasets root or the remote base_dir)."""
    return os.path.join(state_root, SYNC_STATE_DIR, STORE_DIR, dataset + ".json")


def _stat_of(info: os.stat_result) -> list[int]:
    return [info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns]


class HashStore:
    """The persisted hashes of one dataset on one side: loaded once, consulted by stat, saved at the end."""

    def __init__(self, path: str, *, trust: bool = True) -> None:
        self.path = path
        self.state = "missing"
        """missing | ok | unreadable | corrupt | foreign-version | ignored (--rehash)"""
        self.hits = 0
        self._trust = trust
        self._loaded: dict[str, list] = {}
        self._seen: dict[str, os.stat_result] = {}
        self._vouched = 0
        """Files of the last scan this cache answered for as loaded."""
        self._on_disk: dict[str, list] | None = {}
        """What the file holds now (None: something unusable), so an unchanged cache is not rewritten."""

    @classmethod
    def load(cls, path: str, *, trust: bool = True) -> HashStore:
        """The cache at `path`; any damage leaves it empty with `state` naming why, never raises."""
        store = cls(path, trust=trust)
        try:
            with open(path, "rb") as handle:
                header_line = handle.readline()
                body = handle.read()
        except FileNotFoundError:
            return store
        except OSError:
            store.state, store._on_disk = "unreadable", None
            return store
        store.state, store._loaded = _parse(header_line, body)
        store._on_disk = store._loaded if store.state == "ok" else None
        if not trust:
            store.state = "ignored"
        return store

    @property
    def entries(self) -> int:
        return len(self._loaded)

    def scanning(self) -> None:
        """A new scan of the dataset begins: what it sees replaces what the previous one saw."""
        self._seen = {}
        self._vouched = 0

    def seen(self, rel: str, info: os.stat_result) -> None:
        self._seen[rel] = info

    def trusted(self, rel: str, info: os.stat_result) -> str | None:
        """The cached sha256 of `rel` when its stat is unchanged and the entry is racy-clean."""
        if not self._trust:
            return None
        entry = self._loaded.get(rel)
        if not _matches(entry, info) or racy(info, entry[5]):
            return None
        self.hits += 1
        self._vouched += 1
        return entry[6]

    def save(self, hashes: HashCache) -> bool:
        """Write what the last scan saw and can vouch for; True when the file changed. OSError is left
        to the caller, who ignores it (a read-only side simply keeps no cache)."""
        if self._unchanged():
            return False
        entries = {}
        for rel, info in self._seen.items():
            known = hashes.entry(info)
            if known is not None and not racy(info, known[1]):
                entries[rel] = [*_stat_of(info), known[1], known[0]]
            elif self._trust and _matches(self._loaded.get(rel), info):
                entries[rel] = self._loaded[rel]
        if entries == self._on_disk:
            return False
        _write(self.path, entries)
        self._on_disk = entries
        return True

    def _unchanged(self) -> bool:
        """Every file the last scan saw, and only those, was answered from the file as loaded: saving
        would write it again (at 20,000 files, 45 ms of a no-op spent proving that)."""
        return (
            self._on_disk is self._loaded
            and self._vouched == len(self._seen) == len(self._loaded)
            and self._seen.keys() == self._loaded.keys()
        )

    def report(self) -> dict:
        return {"state": self.state, "entries": self.entries, "hits": self.hits}


def cache_report(state_root: str) -> dict:
    """Every dataset cache under a side's root, by state: what `usr remotes doctor` shows."""
    folder = os.path.join(state_root, SYNC_STATE_DIR, STORE_DIR)
    states: dict[str, int] = {}
    entries = 0
    for top, _dirs, names in os.walk(folder):
        for name in names:
            if name.endswith(".json") and not name.startswith(TEMP_PREFIX):
                store = HashStore.load(os.path.join(top, name))
                states[store.state] = states.get(store.state, 0) + 1
                entries += store.entries
    return {"path": folder, "datasets": sum(states.values()), "entries": entries, "states": states}


def _parse(header_line: bytes, body: bytes) -> tuple[str, dict]:
    try:
        header = json.loads(header_line)
        if not isinstance(header, dict) or header.get("format") != CACHE_FORMAT:
            return "corrupt", {}
        if header.get("version") != CACHE_VERSION:
            return "foreign-version", {}
        if hashlib.sha256(body).hexdigest() != header.get("sha256"):
            return "corrupt", {}
        entries = json.loads(body)
    except ValueError:
        return "corrupt", {}
    if not isinstance(entries, dict):
        return "corrupt", {}
    return "ok", entries


def _matches(entry: object, info: os.stat_result) -> bool:
    """A well-formed entry for exactly this stat; checked per lookup, not per load (20,000 entries cost
    0.3 s to check up front, and the file's own checksum already vouches for its writer)."""
    return (
        type(entry) is list
        and len(entry) == 7
        and entry[:5] == _stat_of(info)
        and type(entry[5]) is int
        and type(entry[6]) is str
    )


def _write(path: str, entries: dict) -> None:
    body = json.dumps(entries, separators=(",", ":"), sort_keys=True).encode()
    header = {"format": CACHE_FORMAT, "version": CACHE_VERSION, "sha256": hashlib.sha256(body).hexdigest()}
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    temp = os.path.join(folder, TEMP_PREFIX + os.urandom(6).hex())
    try:
        with open(temp, "wb") as handle:
            handle.write(json.dumps(header).encode() + b"\n" + body)
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise
