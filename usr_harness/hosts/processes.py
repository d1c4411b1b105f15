"""Stop a daemon by its own pid, and only if that pid still is the daemon we started.

A detached host outlives the command that started it, so its pid may have been
reused by the time someone stops it; checking the command line guards against
signalling an unrelated process.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path


def pid_alive(pid: int) -> bool:
    """True while `pid` runs; a zombie counts as gone (it is reaped when it is our child)."""
    try:
        reaped, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        reaped = 0
    if reaped == pid:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:
        return _signal_zero(pid)
    return stat.rpartition(")")[2].split()[0] != "Z"


def command_line(pid: int) -> list[str]:
    """The argv of `pid` (empty when it is gone or unreadable)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def stop_pid(pid: int, timeout: float = 5.0) -> None:
    """SIGTERM `pid`, wait up to `timeout`, then SIGKILL; returns once it is gone."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, timeout)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not pid_alive(pid):
                return
            time.sleep(0.02)
    raise TimeoutError(f"process {pid} did not exit after SIGKILL")


def _signal_zero(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stat_fields(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name: state first, then the parent pid."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return []


def parent_pid(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[1]) if len(fields) > 1 else None


def process_state(pid: int) -> str:
    """One letter (R, S, T for stopped, Z ...), or "" when the process is gone."""
    fields = _stat_fields(pid)
    return fields[0] if fields else ""


def descendants(pid: int) -> list[int]:
    """Every process below `pid`: under a harness sshd, the remote side of the commands it serves."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if len(fields) > 1:
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], list(children.get(pid, []))
    while todo:
        child = todo.pop()
        found.append(child)
        todo.extend(children.get(child, []))
    return sorted(found)
