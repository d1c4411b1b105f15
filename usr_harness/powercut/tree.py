"""A folder as plain data: relative path -> file bytes, directory or symlink, and back again.

The durability model takes a tree as the state before a run and gives one as the state after a power cut;
`restore` writes it into a folder so the engine can be run on what survived.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from usr_harness.powercut.errors import PowerCutError


@dataclass(frozen=True)
class Directory:
    """A directory entry (its children are the tree's other keys under it)."""


@dataclass(frozen=True)
class Symlink:
    target: str


DIRECTORY = Directory()

Entry = bytes | Directory | Symlink
Tree = Mapping[str, Entry]
"""Relative POSIX path (no leading slash) -> entry; the root itself is implied, never a key."""

Identity = tuple[int, int, int]
"""(st_ino, st_mtime_ns, st_ctime_ns) of a node as programs saw it: a power cut keeps the synced one, and
an engine may compare it after the reboot (a promotion journal does)."""


def kind_of(entry: Entry) -> str:
    if isinstance(entry, bytes):
        return "file"
    return "dir" if isinstance(entry, Directory) else "symlink"


def listing(folder: Path) -> list[tuple[str, str]]:
    """(relative path, kind) of everything under `folder`, sorted: node ids are given in this order."""
    found: list[tuple[str, str]] = []
    for current, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = Path(current, name)
            relative = path.relative_to(folder).as_posix()
            mode = os.lstat(path).st_mode
            if stat.S_ISLNK(mode):
                found.append((relative, "symlink"))
            elif stat.S_ISDIR(mode):
                found.append((relative, "dir"))
            elif stat.S_ISREG(mode):
                found.append((relative, "file"))
            else:
                raise PowerCutError(f"{path}: neither file, directory nor symlink; the layer cannot model it")
    return sorted(found)


def scan(folder: Path) -> dict[str, Entry]:
    """The whole content of `folder` as a tree (file bytes read into memory: meant for drill-sized data)."""
    tree: dict[str, Entry] = {}
    for relative, kind in listing(folder):
        path = folder / relative
        if kind == "dir":
            tree[relative] = DIRECTORY
        elif kind == "symlink":
            tree[relative] = Symlink(os.readlink(path))
        else:
            tree[relative] = path.read_bytes()
    return tree


def identities(folder: Path) -> dict[str, Identity]:
    """Each path's identity under `folder` as lstat gives it."""
    found: dict[str, Identity] = {}
    for relative, _ in listing(folder):
        info = os.lstat(folder / relative)
        found[relative] = (info.st_ino, info.st_mtime_ns, info.st_ctime_ns)
    return found


def save_identities(path: Path, found: Mapping[str, Identity]) -> None:
    path.write_text(json.dumps({name: list(found[name]) for name in sorted(found)}), encoding="utf-8")


def load_identities(path: Path) -> dict[str, Identity]:
    """What `save_identities` wrote: path -> (ino, mtime_ns, ctime_ns)."""
    loaded = json.loads(path.read_text(encoding="utf-8"))
    return {name: (ino, mtime, ctime) for name, (ino, mtime, ctime) in loaded.items()}


def restore(folder: Path, tree: Tree) -> None:
    """Make `folder` hold exactly `tree`: everything else in it is removed first (the folder itself stays)."""
    folder.mkdir(parents=True, exist_ok=True)
    for child in folder.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
    for relative in sorted(tree):
        entry = tree[relative]
        path = folder / relative
        if isinstance(entry, Directory):
            path.mkdir(parents=True, exist_ok=True)
        elif isinstance(entry, Symlink):
            os.symlink(entry.target, path)
        else:
            path.write_bytes(entry)
