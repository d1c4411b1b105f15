"""Durable file replacement: write a `.usr-tmp-*` sibling, fsync it, rename over the target, fsync the folder.

A reader (or a sync) therefore sees either the old file or the new one, never a torn one.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from usr_harness.dataset.journal import fsync_dir
from usr_harness.dataset.layout import TEMP_PREFIX, entry_kind


def file_kind(path: Path) -> str:
    """What sits at `path` without following a symlink: file, symlink, fifo, dir, other or missing.

    Readers check it first: a symlink could lead out of the dataset and a fifo would block a read forever.
    """
    try:
        return entry_kind(os.lstat(path).st_mode)
    except FileNotFoundError:
        return "missing"


def temp_sibling(path: Path) -> Path:
    """A runtime-only name beside `path` (never synced, never inventoried)."""
    return path.with_name(f"{TEMP_PREFIX}{path.name}.{os.getpid()}-{secrets.token_hex(6)}")


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(temp: Path, target: Path) -> None:
    """fsync `temp`, rename it over `target`, fsync the folder; `temp` is removed if anything fails."""
    try:
        fsync_file(temp)
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    fsync_dir(target.parent)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    temp = temp_sibling(path)
    try:
        with open(temp, "xb") as handle:
            handle.write(data)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    publish(temp, path)
