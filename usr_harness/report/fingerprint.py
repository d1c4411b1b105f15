"""Byte-level evidence: a blake3 fingerprint of every entry of a tree, and an exact comparison.

Drills prove "nothing changed" (or "exactly this changed") by fingerprinting a tree
before and after; names, sizes and mtimes can lie, content hashes cannot. Symlinks
are recorded with their target and never followed; fifos, sockets and devices are
recorded by type and never opened. Runtime files (locks, leases, staging) are left
out because the engine may create and remove them without changing any data.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import blake3

from usr_harness.dataset.layout import is_runtime

ENTRY_TYPES = ("file", "symlink", "fifo", "dir", "other")
ABSENT = "absent"
"""The digest of a tree that does not exist: never equal to an empty folder's, so "gone" shows."""
SMALL_FILE = 1 << 20
CHUNK = 8 << 20


@dataclass(frozen=True)
class TreeEntry:
    """One entry of a tree: files carry a content hash, symlinks their target, dirs size 0."""

    path: str
    type: str
    size: int
    blake3: str | None = None
    link_target: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "type": self.type,
            "size": self.size,
            "blake3": self.blake3,
            "link_target": self.link_target,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> TreeEntry:
        kind = str(data["type"])
        if kind not in ENTRY_TYPES:
            raise ValueError(f"unknown entry type {kind!r} for {data.get('path')!r}")
        digest, target = data.get("blake3"), data.get("link_target")
        return cls(
            path=str(data["path"]),
            type=kind,
            size=int(data["size"]),  # type: ignore[call-overload]
            blake3=None if digest is None else str(digest),
            link_target=None if target is None else str(target),
        )

    def canonical(self) -> bytes:
        fields = (self.path, self.type, str(self.size), self.blake3 or "", self.link_target or "")
        return ("\0".join(fields) + "\n").encode("utf-8", "surrogateescape")


@dataclass(frozen=True)
class TreeFingerprint:
    """Every entry sorted by path, plus one digest over all of them (the tree's identity)."""

    entries: tuple[TreeEntry, ...]
    digest: str

    @classmethod
    def of(cls, entries: Iterable[TreeEntry]) -> TreeFingerprint:
        ordered = tuple(sorted(entries, key=lambda entry: entry.path))
        return cls(ordered, _tree_digest(ordered))

    @property
    def by_path(self) -> dict[str, TreeEntry]:
        return {entry.path: entry for entry in self.entries}

    @property
    def total_bytes(self) -> int:
        return sum(entry.size for entry in self.entries if entry.type == "file")

    def compare(self, after: TreeFingerprint) -> FingerprintDiff:
        """What changed from this fingerprint to `after` (same as `compare(self, after)`)."""
        return compare(self, after)

    def as_dict(self) -> dict[str, object]:
        return {"digest": self.digest, "entries": [entry.as_dict() for entry in self.entries]}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> TreeFingerprint:
        """Rebuild from `as_dict` output; a digest that does not match the entries is refused."""
        raw = data["entries"]
        if not isinstance(raw, list):
            raise ValueError("fingerprint entries must be a list")
        if data["digest"] == ABSENT and not raw:
            return cls((), ABSENT)
        rebuilt = cls.of(TreeEntry.from_dict(item) for item in raw)
        if rebuilt.digest != data["digest"]:
            raise ValueError(f"fingerprint digest {data['digest']} does not match its entries")
        return rebuilt


@dataclass(frozen=True)
class EntryChange:
    path: str
    what: tuple[str, ...]
    before: TreeEntry
    after: TreeEntry

    def as_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "what": list(self.what),
            "before": self.before.as_dict(),
            "after": self.after.as_dict(),
        }


@dataclass(frozen=True)
class FingerprintDiff:
    """What differs between two fingerprints; `what` names type, size and/or content."""

    added: tuple[TreeEntry, ...]
    removed: tuple[TreeEntry, ...]
    changed: tuple[EntryChange, ...]
    unchanged_count: int

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    @property
    def paths(self) -> tuple[str, ...]:
        found = [e.path for e in self.added] + [e.path for e in self.removed] + [c.path for c in self.changed]
        return tuple(sorted(found))

    def lines(self) -> list[str]:
        """One readable line per difference, `+` added, `-` removed, `~` changed."""
        rows = [(e.path, f"+ {e.path} ({e.type}, {e.size} B)") for e in self.added]
        rows += [(e.path, f"- {e.path} ({e.type}, {e.size} B)") for e in self.removed]
        rows += [(c.path, f"~ {c.path} ({', '.join(c.what)})") for c in self.changed]
        return [text for _, text in sorted(rows)]

    def as_dict(self) -> dict[str, object]:
        return {
            "added": [entry.as_dict() for entry in self.added],
            "removed": [entry.as_dict() for entry in self.removed],
            "changed": [change.as_dict() for change in self.changed],
            "unchanged_count": self.unchanged_count,
        }


def compare(before: TreeFingerprint, after: TreeFingerprint) -> FingerprintDiff:
    """List exactly what differs, path by path."""
    old, new = before.by_path, after.by_path
    added = tuple(new[path] for path in sorted(new.keys() - old.keys()))
    removed = tuple(old[path] for path in sorted(old.keys() - new.keys()))
    changed = []
    unchanged = 0
    for path in sorted(old.keys() & new.keys()):
        what = _differences(old[path], new[path])
        if what:
            changed.append(EntryChange(path, what, old[path], new[path]))
        else:
            unchanged += 1
    return FingerprintDiff(added, removed, tuple(changed), unchanged)


def fingerprint_tree(root: Path, *, exclude_runtime: bool = True) -> TreeFingerprint:
    """Fingerprint every entry under `root` (not `root` itself), without following symlinks.

    A missing `root` is evidence too (an engine that reported success but wrote nothing): it
    fingerprints as no entries with the digest `ABSENT`, so a drill fails on it, never crashes.
    """
    if not os.path.lexists(root):
        return TreeFingerprint((), ABSENT)
    return TreeFingerprint.of(_entries(str(root), "", exclude_runtime))


def hash_file(path: str | Path) -> tuple[int, str]:
    """(bytes read, blake3 hex) of a regular file; big files stream to a multi-threaded hasher."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(descriptor, "rb", buffering=0) as handle:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(f"{path} stopped being a regular file while it was fingerprinted")
        if info.st_size < SMALL_FILE:
            data = handle.readall()
            return len(data), blake3.blake3(data).hexdigest()
        hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
        buffer = bytearray(CHUNK)
        view = memoryview(buffer)
        total = 0
        while count := handle.readinto(buffer):
            hasher.update(view[:count])
            total += count
        return total, hasher.hexdigest()


def _entries(top: str, prefix: str, exclude_runtime: bool) -> Iterator[TreeEntry]:
    with os.scandir(top) as listing:
        children = sorted(listing, key=lambda child: child.name)
    for child in children:
        if exclude_runtime and is_runtime(child.name):
            continue
        rel = prefix + child.name
        info = child.stat(follow_symlinks=False)
        if stat.S_ISDIR(info.st_mode):
            yield TreeEntry(rel, "dir", 0)
            yield from _entries(child.path, rel + "/", exclude_runtime)
        elif stat.S_ISREG(info.st_mode):
            size, digest = hash_file(child.path)
            yield TreeEntry(rel, "file", size, digest)
        elif stat.S_ISLNK(info.st_mode):
            target = os.readlink(child.path)
            yield TreeEntry(rel, "symlink", len(os.fsencode(target)), link_target=target)
        else:
            kind = "fifo" if stat.S_ISFIFO(info.st_mode) else "other"
            yield TreeEntry(rel, kind, 0)


def _differences(old: TreeEntry, new: TreeEntry) -> tuple[str, ...]:
    what = []
    if old.type != new.type:
        what.append("type")
    if old.size != new.size:
        what.append("size")
    if (old.blake3, old.link_target) != (new.blake3, new.link_target):
        what.append("content")
    return tuple(what)


def _tree_digest(entries: tuple[TreeEntry, ...]) -> str:
    hasher = blake3.blake3()
    for entry in entries:
        hasher.update(entry.canonical())
    return hasher.hexdigest()
