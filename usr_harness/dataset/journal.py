"""The promotion journal: a committed promotion that every writer of the dataset completes first.

A sync promotes by writing a journal (every rename and deletion) and then applying
it; a crash in between leaves the dataset half old, half new until the journal is
rolled forward. So every writer (the sync engine on both sides, and the dataset
layer's own mutations) rolls a pending journal forward, under the dataset lock,
before it writes. The journal also records the stat of every file it will replace
or delete and of every staged file, and the roll-forward checks all of them before
it moves anything: bytes written after the journal (by a writer that did not
complete it first) are never overwritten; the roll-forward refuses instead,
leaving journal, stage and dataset as they are. Stdlib only: the agent ships it.
"""

from __future__ import annotations

import json
import os
import shutil
from typing import TYPE_CHECKING

from usr_harness.dataset.layout import JOURNAL_MARKER, TEMP_PREFIX, check_relpath

if TYPE_CHECKING:
    from usr_harness.sync.inventory.hash_cache import HashCache

JOURNAL_VERSION = 2


class JournalConflict(Exception):
    """A file the journal would replace, delete or has installed changed after the journal was written."""

    def __init__(self, journal: str, relpath: str, what: str) -> None:
        super().__init__(
            f"pending promotion journal {journal!r} was not applied: {relpath!r} {what} after it was "
            "written; journal, stage and dataset are left as they are"
        )
        self.journal = journal
        self.relpath = relpath


def fsync_dir(path: str | os.PathLike) -> None:
    """fsync a folder, so a new or renamed name in it survives a crash (the one copy: fsio uses it too)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sibling_path(dataset_dir: str, marker: str, suffix: str) -> str:
    """A runtime path beside the dataset (same filesystem, so renames into the dataset are atomic)."""
    parent, name = os.path.split(os.path.normpath(dataset_dir))
    return os.path.join(parent, "." + name + marker + suffix)


def journal_path(dataset_dir: str) -> str:
    return sibling_path(dataset_dir, JOURNAL_MARKER, "journal.json")


def journal_pending(dataset_dir: str) -> bool:
    return os.path.exists(journal_path(dataset_dir))


def _identity(path: str, with_ctime: bool = True) -> list[int] | None:
    """What a later write changes: a replace brings a new inode, an in-place write new size/mtime/ctime."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    found = [info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns]
    return [*found, info.st_ctime_ns] if with_ctime else found


def write_journal(dataset_dir: str, stage: str, install: list[str], delete: list[str]) -> str:
    """Commit the promotion: after this returns, a roll-forward completes it (caller holds the locks)."""
    for rel in [*install, *delete]:
        check_relpath(rel)
    path = journal_path(dataset_dir)
    temp = os.path.join(os.path.dirname(path), TEMP_PREFIX + os.urandom(6).hex())
    body = {
        "version": JOURNAL_VERSION,
        "dataset": os.path.basename(os.path.normpath(dataset_dir)),
        "stage": stage,
        "install": install,
        "delete": delete,
        "staged": {rel: _identity(os.path.join(stage, rel), with_ctime=False) for rel in install},
        "replaces": {rel: _identity(os.path.join(dataset_dir, rel)) for rel in [*install, *delete]},
    }
    for folder, _, _ in sorted(os.walk(stage), key=lambda entry: len(entry[0]), reverse=True):
        fsync_dir(folder)
    try:
        with open(temp, "w", encoding="utf-8") as handle:
            json.dump(body, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        if os.path.lexists(temp):
            os.unlink(temp)  # a journal that could not be written (a full disk) leaves no trace
        raise
    fsync_dir(os.path.dirname(path))
    return path


def _check_untouched(dataset_dir: str, journal: dict, path: str) -> None:
    """Every file still where the journal left it: nothing written after the journal is lost."""
    stage, replaces, staged = journal["stage"], journal.get("replaces"), journal.get("staged")
    if replaces is None or staged is None:
        return
    for rel in journal["install"]:
        target = os.path.join(dataset_dir, rel)
        if os.path.lexists(os.path.join(stage, rel)):
            if _identity(target) != replaces[rel]:
                raise JournalConflict(path, rel, "changed")
        elif _identity(target, with_ctime=False) != staged[rel]:
            raise JournalConflict(path, rel, "was installed and then changed")
    for rel in journal["delete"]:
        current = _identity(os.path.join(dataset_dir, rel))
        if current is not None and current != replaces[rel]:
            raise JournalConflict(path, rel, "changed")


def apply_journal(dataset_dir: str, on_step=None, hashes: HashCache | None = None) -> None:
    """Roll a committed promotion forward; idempotent, so a crash inside it is recovered the same way.

    Raises JournalConflict, having moved nothing, when a file changed after the journal.
    """
    path = journal_path(dataset_dir)
    with open(path, encoding="utf-8") as handle:
        journal = json.load(handle)
    _check_untouched(dataset_dir, journal, path)
    stage = journal["stage"]
    os.makedirs(dataset_dir, exist_ok=True)
    for rel in journal["install"]:
        folder = os.path.dirname(os.path.join(dataset_dir, rel))
        missing = []
        while not os.path.isdir(folder):
            missing.append(folder)
            folder = os.path.dirname(folder)
        for created in reversed(missing):
            os.mkdir(created)
            fsync_dir(os.path.dirname(created))
    touched = {dataset_dir}
    for index, rel in enumerate(journal["install"]):
        source = os.path.join(stage, rel)
        target = os.path.join(dataset_dir, rel)
        if os.path.lexists(source):
            os.makedirs(os.path.dirname(target), exist_ok=True)
            staged = os.lstat(source)
            os.replace(source, target)
            if hashes is not None:
                hashes.renamed(staged, os.lstat(target))
            folder = os.path.dirname(target)
            while len(folder) >= len(dataset_dir):
                touched.add(folder)
                folder = os.path.dirname(folder)
        if on_step is not None and index == len(journal["install"]) // 2:
            on_step()
    for rel in journal["delete"]:
        target = os.path.join(dataset_dir, rel)
        if os.path.lexists(target) and not os.path.isdir(target):
            os.unlink(target)
            touched.add(os.path.dirname(target))
    for folder in sorted(touched, key=len, reverse=True):
        if os.path.isdir(folder):
            fsync_dir(folder)
    _prune_empty_dirs(dataset_dir, [os.path.dirname(rel) for rel in journal["delete"]])
    shutil.rmtree(stage, ignore_errors=True)
    os.unlink(path)
    fsync_dir(os.path.dirname(path))


def _prune_empty_dirs(dataset_dir: str, rel_dirs: list[str]) -> None:
    for rel in sorted(set(rel_dirs), key=len, reverse=True):
        while rel:
            folder = os.path.join(dataset_dir, rel)
            if not os.path.isdir(folder) or os.listdir(folder):
                break
            os.rmdir(folder)
            rel = os.path.dirname(rel)
