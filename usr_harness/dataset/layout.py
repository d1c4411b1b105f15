"""Where things live in a USR dataset and which section each file belongs to.

Stdlib only: this module is also shipped inside the remote agent, so the local
and remote sides classify files with the same code.
"""

from __future__ import annotations

import re
import stat

from usr_harness.dataset.quoting import quote

RECORDS_FILE = "records.parquet"
META_FILE = "meta.md"
EVENTS_FILE = ".events.log"
SNAPSHOTS_DIR = "_snapshots"
DERIVED_DIR = "_derived"
REGISTRY_DIR = "_registry"
REGISTRY_FILE = "registry.yaml"

DATASET_LOCK = ".usr.lock"
EVENTS_LOCK = ".events.lock"
TRANSFER_LOCK = ".usr.transfer.lock"
LEASE_PREFIX = ".usr.lease."
TEMP_PREFIX = ".usr-tmp-"
STAGE_MARKER = ".usr-stage-"
JOURNAL_MARKER = ".usr-promote-"
SYNC_STATE_DIR = ".usr-sync"

SECTIONS = ("primary", "meta", "events", "snapshots", "derived", "auxiliary")
RUNTIME = "runtime"

SNAPSHOT_NAME = re.compile(r"^records-(\d{8}T\d{12})\.parquet$")
DERIVED_PART_NAME = re.compile(r"^part-(\d{8}T\d{12})-([0-9a-f]{8,64})\.parquet$")
NAMESPACE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
ID_COMPONENT_MAX = 128
"""Characters in one id component: its stage `.<id>.usr-stage-<hex>` stays far below NAME_MAX (255 bytes)."""
_ID_COMPONENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

REGISTRY_LOCK = ".usr.registry.lock"

_RUNTIME_NAMES = frozenset({DATASET_LOCK, EVENTS_LOCK, TRANSFER_LOCK, REGISTRY_LOCK, SYNC_STATE_DIR})
"""`.usr-sync/` (sync bases, hash caches) sits beside the datasets, on either side: evidence skips it."""


def entry_kind(mode: int) -> str:
    """What an lstat mode is: file, dir, symlink, fifo, socket, device or other (one vocabulary)."""
    for kind, test in (
        ("file", stat.S_ISREG),
        ("dir", stat.S_ISDIR),
        ("symlink", stat.S_ISLNK),
        ("fifo", stat.S_ISFIFO),
        ("socket", stat.S_ISSOCK),
        ("device", stat.S_ISCHR),
        ("device", stat.S_ISBLK),
    ):
        if test(mode):
            return kind
    return "other"


def is_runtime(relpath: str) -> bool:
    """Lock, lease, temp and staging files: never synced, never inventoried."""
    name = relpath.rsplit("/", 1)[-1]
    if "/" not in relpath and name in _RUNTIME_NAMES:
        return True
    return name.startswith((LEASE_PREFIX, TEMP_PREFIX)) or STAGE_MARKER in name or JOURNAL_MARKER in name


def section_of(relpath: str) -> str:
    """Section of a path relative to the dataset folder (POSIX separators)."""
    if is_runtime(relpath):
        return RUNTIME
    if relpath == RECORDS_FILE:
        return "primary"
    if relpath == META_FILE:
        return "meta"
    if relpath == EVENTS_FILE:
        return "events"
    top = relpath.split("/", 1)[0]
    if top == SNAPSHOTS_DIR and "/" in relpath:
        return "snapshots"
    if top == DERIVED_DIR and "/" in relpath:
        return "derived"
    return "auxiliary"


def check_relpath(relpath: str) -> str:
    """Refuse a path that could leave the dataset folder or confuse a shell or a log."""
    if not relpath or relpath.startswith("/") or "\\" in relpath:
        raise ValueError(f"unsafe path {quote(relpath)}: must be relative with '/' separators")
    for bad in ("\x00", "\n", "\r"):
        if bad in relpath:
            raise ValueError(f"unsafe path {quote(relpath)}: control character")
    for part in relpath.split("/"):
        if part in ("", ".", ".."):
            raise ValueError(f"unsafe path {quote(relpath)}: empty, '.' or '..' component")
    return relpath


def check_dataset_id(dataset_id: str) -> str:
    """A dataset id is flat (`demo`) or one namespace deep (`ns/demo`), nothing else."""
    if not isinstance(dataset_id, str) or not dataset_id:
        raise ValueError("dataset id is empty")
    if dataset_id.startswith("/"):
        raise ValueError(f"dataset id {quote(dataset_id)} is absolute; use an id relative to the root")
    parts = dataset_id.split("/")
    if len(parts) > 2:
        raise ValueError(f"dataset id {quote(dataset_id)} is more than one namespace deep")
    for part in parts:
        if part in ("", ".", ".."):
            raise ValueError(f"dataset id {quote(dataset_id)} has an empty, '.' or '..' component")
        if len(part) > ID_COMPONENT_MAX:
            raise ValueError(
                f"dataset id component {quote(part, 40)} is {len(part)} characters long; "
                f"at most {ID_COMPONENT_MAX} (file names stop at 255 bytes)"
            )
        if not _ID_COMPONENT.match(part):
            raise ValueError(
                f"dataset id {quote(dataset_id)} has unsafe characters in {quote(part)} "
                "(letters, digits, '.', '_', '-', first a letter or digit; "
                "no spaces, quotes or shell metacharacters)"
            )
    if parts[0].lower().startswith("archived"):
        raise ValueError(f"dataset id {quote(dataset_id)} starts with 'archived', which is reserved")
    return dataset_id
