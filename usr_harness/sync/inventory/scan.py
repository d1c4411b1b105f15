"""Inventory a dataset folder: every file with its section, kind, size, mtime and sha256.

Stdlib only: the remote agent ships this module, so both sides inventory a
dataset with the same code. Symlinks are never followed; fifos, sockets and
devices are reported as what they are, never opened.
"""

from __future__ import annotations

import hashlib
import operator
import os
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from usr_harness.dataset.layout import EVENTS_FILE, RECORDS_FILE, check_relpath, entry_kind, section_of
from usr_harness.sync.inventory.hash_cache import CHUNK

FIRST_LINE_MAX = 1 << 20
"""An event line is at most 1 MiB (SPEC); a longer first line is hashed that far."""

if TYPE_CHECKING:
    from usr_harness.sync.inventory.hash_cache import HashCache
    from usr_harness.sync.inventory.hash_store import HashStore


def sha256_file(path: str, limit: int | None = None) -> str:
    """sha256 of a file's first `limit` bytes (all of it when None)."""
    digest = hashlib.sha256()
    remaining = limit
    with open(path, "rb", buffering=0) as handle:
        while remaining is None or remaining > 0:
            want = CHUNK if remaining is None else min(CHUNK, remaining)
            block = handle.read(want)
            if not block:
                break
            digest.update(block)
            if remaining is not None:
                remaining -= len(block)
    return digest.hexdigest()


def count_lines(path: str) -> int:
    lines = 0
    with open(path, "rb", buffering=0) as handle:
        while True:
            block = handle.read(CHUNK)
            if not block:
                return lines
            lines += block.count(b"\n")


_name = operator.attrgetter("name")

ROW_FIELDS = ("path", "section", "kind", "size", "mtime_ns", "sha256", "link", "unsafe", "sha256_pending")
"""A manifest's files as rows of these, in this order (`as_rows`): the order of `FileEntry`'s fields."""


def as_rows(files: list[dict]) -> list[list]:
    """The scan's files as positional rows: at 20,000 files the agent's reply is 35 % smaller, and it
    encodes, decodes and becomes `FileEntry`s faster than as one dict per file."""
    return [
        [
            item["path"],
            item["section"],
            item["kind"],
            item["size"],
            item.get("mtime_ns", 0),
            item.get("sha256"),
            item.get("link"),
            item.get("unsafe"),
            bool(item.get("sha256_pending")),
        ]
        for item in files
    ]


def _entries(top: str, prefix: str) -> Iterator[tuple[str, os.DirEntry]]:
    """Every entry below `top` that is not a folder, by name; a symlink to a folder is not entered."""
    with os.scandir(top) as entries:
        for entry in sorted(entries, key=_name):
            rel = prefix + entry.name
            if entry.is_dir(follow_symlinks=False):
                yield from _entries(entry.path, rel + "/")
            else:
                yield rel, entry


def _walk(top: str, prefix: str):
    for rel, entry in _entries(top, prefix):
        yield rel, entry.path, entry.stat(follow_symlinks=False)


def _is_folder(dataset_dir: str) -> bool:
    """A dataset folder to scan: a folder, and not a symlink to one."""
    return os.path.isdir(dataset_dir) and not os.path.islink(dataset_dir)


def local_names(dataset_dir: str) -> set[str]:
    """The paths `scan_dataset` would list, from the folder's entries alone (no stat, no hash)."""
    if not _is_folder(dataset_dir):
        return set()
    return {rel for rel, _ in _entries(dataset_dir, "") if section_of(rel) != "runtime"}


def local_log_size(dataset_dir: str) -> int | None:
    """The event log's size as `scan_dataset` would report it, from one lstat."""
    if not _is_folder(dataset_dir):
        return None
    try:
        return os.lstat(os.path.join(dataset_dir, EVENTS_FILE)).st_size
    except OSError:
        return None


def add_site_packages() -> None:
    """Put this interpreter's site-packages on the path, where it started without them.

    The remote agent runs with `python -S`: it is stdlib only, and `site` with a venv's .pth files
    cost 11 ms of every remote start. The probes that want the remote's own packages (pyarrow's
    footer reader here, the doctor's versions) call this first; anywhere else it does nothing.
    """
    if sys.flags.no_site and "site" not in sys.modules:
        import site

        site.main()


def parquet_stats(path: str) -> dict | None:
    """Rows and columns from a parquet footer, when pyarrow is importable on this side."""
    add_site_packages()
    try:
        import pyarrow.parquet as pq
    except ImportError:
        return None
    try:
        meta = pq.ParquetFile(path).metadata
    except Exception as error:
        return {"error": str(error)[:200]}
    return {"rows": meta.num_rows, "cols": meta.num_columns}


def scan_dataset(
    dataset_dir: str,
    *,
    hash_sections: list[str] | None = None,
    parquet: bool = False,
    events_prefix: int | None = None,
    events_base: int | None = None,
    hashes: HashCache | None = None,
    hash_later: Callable[[str], bool] | None = None,
    store: HashStore | None = None,
) -> dict:
    """The manifest of one dataset folder as plain JSON-able data.

    `hash_sections` limits sha256 to those sections (None: all). `events_prefix`
    asks for the sha256 of the event log's first N bytes, so a prefix check needs
    no second round trip; `events_base` does the same for the log's size at the last sync,
    so an add/add can tell appended lines from rewritten ones. `hashes` reuses what this
    command already hashed; files for which `hash_later(path)` is true (never the event log)
    are hashed in its background thread and marked `sha256_pending` instead. `store` (the
    hashes earlier commands persisted) answers for a file whose stat it vouches for, and
    learns every file this scan saw.
    """
    if not _is_folder(dataset_dir):
        return {"exists": False, "files": [], "events": None, "primary": None}
    files = []
    events = None
    if store is not None:
        store.scanning()
    for rel, full, info in _walk(dataset_dir, ""):
        section = section_of(rel)
        if section == "runtime":
            continue
        kind = entry_kind(info.st_mode)
        entry = {
            "path": rel,
            "section": section,
            "kind": kind,
            "size": info.st_size,
            "mtime_ns": info.st_mtime_ns,
        }
        try:
            check_relpath(rel)
        except ValueError as error:
            entry["unsafe"] = str(error)
        if kind == "symlink":
            entry["link"] = os.readlink(full)
        elif kind == "file" and "unsafe" not in entry:
            if store is not None:
                store.seen(rel, info)
            if hash_sections is None or section in hash_sections or section == "events":
                cached = store.trusted(rel, info) if store is not None else None
                if cached is not None:
                    entry["sha256"] = cached
                elif hashes and hash_later and rel != EVENTS_FILE and hash_later(rel):
                    hashes.start(full)
                    entry["sha256_pending"] = True
                else:
                    entry["sha256"] = hashes.sha256(full) if hashes else sha256_file(full)
            if rel == EVENTS_FILE:
                events = {"size": info.st_size, "sha256": entry["sha256"], "lines": count_lines(full)}
                events["first_sha256"] = first_line_sha256(full)
                add_events_prefix(events, full, events_prefix)
                add_events_prefix(events, full, events_base, key="base")
        files.append(entry)
    primary = None
    records = os.path.join(dataset_dir, RECORDS_FILE)
    if parquet and os.path.isfile(records) and not os.path.islink(records):
        primary = parquet_stats(records)
    return {"exists": True, "files": files, "events": events, "primary": primary}


def first_line_sha256(log_path: str) -> str:
    """sha256 of the log's first line (its dataset's creation event): two datasets made apart differ here."""
    with open(log_path, "rb") as handle:
        return hashlib.sha256(handle.readline(FIRST_LINE_MAX)).hexdigest()


def add_events_prefix(events: dict, log_path: str, length: int | None, key: str = "prefix") -> None:
    """Add the sha256 of the log's first `length` bytes (`key` "prefix": the other side's log size,
    for its prefix check; "base": the size at the last sync)."""
    if length is not None and 0 <= length <= events["size"]:
        events[f"{key}_len"] = length
        events[f"{key}_sha256"] = sha256_file(log_path, length)
        events[f"{key}_ends_line"] = _ends_with_newline(log_path, length)


def _ends_with_newline(path: str, length: int) -> bool:
    if length == 0:
        return True
    with open(path, "rb") as handle:
        handle.seek(length - 1)
        return handle.read(1) == b"\n"
