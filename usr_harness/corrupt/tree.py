"""The few file operations a corruption needs, on a datasets root of either side.

Injectors speak only this protocol, so one injector breaks a local tree or a
remote one alike; `LocalTree` acts on the local filesystem, `RemoteTree`
(in `remote_tree`) acts through the SSH session. Paths are relative to the tree
root with `/` separators. Nothing here follows a symlink.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from usr_harness.dataset.layout import entry_kind, is_runtime


@dataclass(frozen=True)
class TreeStat:
    kind: str
    size: int


class Tree(Protocol):
    side: str

    def describe(self, rel: str) -> str: ...
    def read_bytes(self, rel: str) -> bytes: ...
    def write_bytes(self, rel: str, data: bytes) -> None: ...
    def write_at(self, rel: str, offset: int, data: bytes) -> None: ...
    def append(self, rel: str, data: bytes) -> None: ...
    def truncate(self, rel: str, size: int) -> None: ...
    def stat(self, rel: str) -> TreeStat: ...
    def times_ns(self, rel: str) -> tuple[int, int]: ...
    def utime_ns(self, rel: str, atime_ns: int, mtime_ns: int) -> None: ...
    def unlink(self, rel: str) -> None: ...
    def rename(self, rel: str, new_rel: str) -> None: ...
    def symlink(self, target: str, rel: str) -> None: ...
    def mkfifo(self, rel: str) -> None: ...
    def exists(self, rel: str) -> bool: ...
    def walk(self, rel_dir: str) -> list[tuple[str, str]]: ...


class LocalTree:
    """A datasets root on this machine."""

    side = "local"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, rel: str) -> Path:
        return self.root / rel

    def describe(self, rel: str) -> str:
        return str(self._path(rel))

    def read_bytes(self, rel: str) -> bytes:
        return self._path(rel).read_bytes()

    def write_bytes(self, rel: str, data: bytes) -> None:
        self._path(rel).write_bytes(data)

    def write_at(self, rel: str, offset: int, data: bytes) -> None:
        with self._path(rel).open("r+b") as handle:
            handle.seek(offset)
            handle.write(data)

    def append(self, rel: str, data: bytes) -> None:
        with self._path(rel).open("ab") as handle:
            handle.write(data)

    def truncate(self, rel: str, size: int) -> None:
        os.truncate(self._path(rel), size)

    def stat(self, rel: str) -> TreeStat:
        info = os.lstat(self._path(rel))
        return TreeStat(entry_kind(info.st_mode), info.st_size)

    def times_ns(self, rel: str) -> tuple[int, int]:
        info = os.lstat(self._path(rel))
        return info.st_atime_ns, info.st_mtime_ns

    def utime_ns(self, rel: str, atime_ns: int, mtime_ns: int) -> None:
        os.utime(self._path(rel), ns=(atime_ns, mtime_ns), follow_symlinks=False)

    def unlink(self, rel: str) -> None:
        os.unlink(self._path(rel))

    def rename(self, rel: str, new_rel: str) -> None:
        if self.exists(new_rel):
            raise FileExistsError(f"{self.describe(new_rel)} already exists")
        os.rename(self._path(rel), self._path(new_rel))

    def symlink(self, target: str, rel: str) -> None:
        os.symlink(target, self._path(rel))

    def mkfifo(self, rel: str) -> None:
        os.mkfifo(self._path(rel))

    def exists(self, rel: str) -> bool:
        return os.path.lexists(self._path(rel))

    def walk(self, rel_dir: str) -> list[tuple[str, str]]:
        """(path, kind) of every non-directory entry under `rel_dir`, runtime files left out, sorted."""
        found: list[tuple[str, str]] = []
        pending = [rel_dir.strip("/")]
        while pending:
            current = pending.pop()
            with os.scandir(self._path(current) if current else self.root) as listing:
                for entry in listing:
                    if is_runtime(entry.name):
                        continue
                    rel = f"{current}/{entry.name}" if current else entry.name
                    kind = entry_kind(entry.stat(follow_symlinks=False).st_mode)
                    if kind == "dir":
                        pending.append(rel)
                    else:
                        found.append((rel, kind))
        return sorted(found)
