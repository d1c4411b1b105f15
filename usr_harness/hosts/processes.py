"""Stop a daemon by its own pid, and only if that pid still is the daemon we started.

A detached host outlives the command that started it, so its pid may have been
reused by the time someone stops it; checking the command line guards against
signalling an unrelated process. Process facts come from psutil, not from reading
/proc by hand.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable

import psutil

# psutil's status names, as the one letter `ps` prints (the drills speak in these).
_STATE_LETTERS = {
    psutil.STATUS_RUNNING: "R",
    psutil.STATUS_SLEEPING: "S",
    psutil.STATUS_DISK_SLEEP: "D",
    psutil.STATUS_STOPPED: "T",
    psutil.STATUS_TRACING_STOP: "t",
    psutil.STATUS_ZOMBIE: "Z",
    psutil.STATUS_DEAD: "X",
    psutil.STATUS_IDLE: "I",
}


def pid_alive(pid: int) -> bool:
    """True while `pid` runs; a zombie counts as gone (it is reaped when it is our child)."""
    try:
        reaped, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        reaped = 0
    if reaped == pid:
        return False
    return process_state(pid) not in ("", "Z", "X")


def command_line(pid: int) -> list[str]:
    """The argv of `pid` (empty when it is gone or unreadable)."""
    try:
        return psutil.Process(pid).cmdline()
    except psutil.Error:
        return []


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


def parent_pid(pid: int) -> int | None:
    try:
        return psutil.Process(pid).ppid()
    except psutil.Error:
        return None


def process_state(pid: int) -> str:
    """One letter (R, S, T for stopped, Z ...), or "" when the process is gone."""
    try:
        status = psutil.Process(pid).status()
    except psutil.Error:
        return ""
    return _STATE_LETTERS.get(status, "?")


def descendants(pid: int) -> list[int]:
    """Every process below `pid`: under a harness sshd, the remote side of the commands it serves."""
    return sorted(child.pid for child in children_of(pid))


def processes_marked(name: str, value: str) -> list[psutil.Process]:
    """Every process whose environment holds `name=value`.

    A login's processes carry what its sshd set, and keep it after their session ended: a
    remote command blocked for good (a read from a fifo) outlives its client, its session
    and the server, and is found only this way."""
    return _processes_where(lambda process: process.environ().get(name) == value)


def processes_naming(text: str) -> list[psutil.Process]:
    """Every process whose command line (or the title it set itself) contains `text`."""
    return _processes_where(lambda process: text in " ".join(process.cmdline()))


def _processes_where(test: Callable[[psutil.Process], bool]) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter():
        try:
            if test(process):
                found.append(process)
        except psutil.Error:
            continue
    return found


def children_of(pid: int) -> list[psutil.Process]:
    """Every process below `pid`, taken before `pid` stops: once it has, they belong to init."""
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def kill_processes(processes: list[psutil.Process], timeout: float = 5.0) -> None:
    """SIGKILL those still running (psutil refuses a pid reused by another process since) and wait
    until they are gone."""
    for process in processes:
        try:
            process.kill()
        except psutil.Error:
            continue
    psutil.wait_procs(processes, timeout=timeout)
