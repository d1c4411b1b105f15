"""A real, small filesystem to fill: a tmpfs mounted over a folder, resized in place, unmounted after.

Disk-full drills need ENOSPC from the kernel, not from a mock: a tmpfs of a few pages is
the cheapest real filesystem that runs out. Mounting needs root (CAP_SYS_ADMIN); where it
is not permitted, `mount_problem` says why, and the drill is skipped with that reason.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")


def _mount(argv: list[str]) -> str | None:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        return str(error)
    return None if done.returncode == 0 else (done.stderr.strip() or f"exit {done.returncode}")


def mount_problem(folder: Path, size: int) -> str | None:
    """Mount a tmpfs of `size` bytes over the empty `folder`; None on success, else why not."""
    if os.geteuid() != 0:
        return "mounting a tmpfs needs root (CAP_SYS_ADMIN); run the disk-full drills as root"
    problem = _mount(["mount", "-t", "tmpfs", "-o", f"size={_pages(size)},mode=0755", "tmpfs", str(folder)])
    return None if problem is None else f"mount -t tmpfs refused: {problem}"


def resize(folder: Path, size: int) -> None:
    """Give the mounted tmpfs `size` bytes in all (whole pages), keeping its files."""
    problem = _mount(["mount", "-o", f"remount,size={_pages(size)}", str(folder)])
    if problem is not None:
        raise OSError(f"cannot resize the tmpfs at {folder}: {problem}")


def unmount(folder: Path) -> None:
    """Unmount, lazily when something still holds it (a remote agent's lock, say)."""
    if _mount(["umount", str(folder)]) is not None:
        _mount(["umount", "-l", str(folder)])


def used_bytes(folder: Path) -> int:
    info = os.statvfs(folder)
    return (info.f_blocks - info.f_bfree) * info.f_frsize


def free_bytes(folder: Path) -> int:
    info = os.statvfs(folder)
    return info.f_bavail * info.f_frsize


def _pages(size: int) -> int:
    return max(1, -(-size // PAGE)) * PAGE
