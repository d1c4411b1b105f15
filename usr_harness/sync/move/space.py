"""Room on the receiving side: a free-space preflight before any byte moves, and the words for a
full disk or a name the filesystem already holds.

A full disk must fail as `staging` with the side, the path and the bytes needed vs free,
never as a traceback or a lost connection. The preflight only sees sizes the manifest
announced; a file that grows meanwhile, or another writer filling the disk, is caught
where the write fails. Stdlib only: the agent ships it, so both sides word it alike.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable

from usr_harness.dataset.quoting import quote

FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


def is_disk_full(error: BaseException) -> bool:
    """ENOSPC or a quota (EDQUOT): the two ways a write finds no room."""
    return isinstance(error, OSError) and error.errno in FULL_ERRNOS


def existing_ancestor(path: str) -> str:
    """The nearest folder that exists: where a stage beside a dataset not yet made will live."""
    path = os.path.abspath(path)
    while not os.path.isdir(path):
        path = os.path.dirname(path)
    return path


def free_bytes(folder: str) -> int:
    """What an unprivileged writer may still use on `folder`'s filesystem (df's Available)."""
    info = os.statvfs(existing_ancestor(folder))
    return info.f_bavail * info.f_frsize


def bytes_needed(folder: str, sizes: Iterable[int]) -> int:
    """Staging these files: each rounded up to whole blocks, as `folder`'s filesystem allocates them."""
    block = os.statvfs(existing_ancestor(folder)).f_frsize or 1
    return sum(-(-size // block) * block for size in sizes)


def shortfall(folder: str, sizes: Iterable[int]) -> tuple[int, int] | None:
    """(needed, free) when files of these sizes cannot be staged beside `folder`, else None."""
    needed = bytes_needed(folder, sizes)
    free = free_bytes(folder)
    return (needed, free) if needed > free else None


def _amount(count: int) -> str:
    return f"{count} bytes ({count / 1e6:.1f} MB)"


def preflight_message(where: str, folder: str, files: int, needed: int, free: int) -> str:
    """The refusal before any byte moved: how much the stage needs and how much there is."""
    return (
        f"{where}: not enough free space to stage {files} file(s) in {quote(folder)}: needs "
        f"{_amount(needed)}, {_amount(free)} free; free some space and run the command again "
        "(nothing was changed)"
    )


def staging_message(where: str, path: str, folder: str, needed: int | None, error: OSError) -> str:
    """Why a staged write failed: a full disk, a name already taken, or the system's own words."""
    if is_disk_full(error):
        return full_message(where, path, folder, needed, error)
    if error.errno == errno.EEXIST:
        return (
            f"{where}: cannot stage {quote(path)}: another staged file already has this name here "
            "(a filesystem that folds case or Unicode normalization makes twins one name); "
            "rename one of them on the sending side (nothing was changed)"
        )
    return f"{where}: cannot stage {quote(path)}: {error.strerror or error}"


def full_message(where: str, path: str, folder: str, needed: int | None, error: OSError) -> str:
    """The refusal when a write found the disk full after the preflight passed."""
    free = free_bytes(folder)
    wanted = f"needs {_amount(needed)} in all, " if needed is not None else ""
    return (
        f"{where}: disk full while staging {quote(path)} in {quote(folder)} ({os.strerror(error.errno)}; "
        f"{wanted}{_amount(free)} free now); the stage is discarded and nothing was changed"
    )
