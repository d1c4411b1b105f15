"""Put a dataset back exactly as it was when a mutation fails half-way.

A mutation validates everything before it writes, so this only matters for
failures while writing (disk full, a lock lost, an oversize event): new files and
folders are removed and replaced files get their original inode back.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from types import TracebackType

from usr_harness.dataset.fsio import temp_sibling


class Undo:
    """Records what a mutation creates or replaces; `rollback` on failure, `commit` on success."""

    def __init__(self) -> None:
        self._created: list[Path] = []
        self._folders: list[Path] = []
        self._originals: list[tuple[Path, Path]] = []

    def mkdir(self, path: Path) -> Path:
        """Create `path` if missing (parents must exist); remembered so a rollback removes it."""
        if not path.exists():
            path.mkdir()
            self._folders.append(path)
        return path

    def created(self, path: Path) -> None:
        self._created.append(path)

    def keep_original(self, path: Path) -> None:
        """Before `path` is replaced: hard-link (else copy) it aside, or note that it is new."""
        if not path.exists():
            self._created.append(path)
            return
        backup = temp_sibling(path)
        try:
            os.link(path, backup)
        except OSError:
            shutil.copy2(path, backup)
        self._originals.append((backup, path))

    def commit(self) -> None:
        for backup, _ in self._originals:
            backup.unlink(missing_ok=True)
        self._created.clear()
        self._folders.clear()
        self._originals.clear()

    def rollback(self) -> None:
        for path in reversed(self._created):
            path.unlink(missing_ok=True)
        for backup, target in reversed(self._originals):
            os.replace(backup, target)
        for folder in reversed(self._folders):
            with contextlib.suppress(OSError):
                folder.rmdir()
        self._created.clear()
        self._folders.clear()
        self._originals.clear()

    def __enter__(self) -> Undo:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if kind is None:
            self.commit()
        else:
            self.rollback()
