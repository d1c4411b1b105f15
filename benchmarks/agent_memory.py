"""Peak memory of the remote agent: the other half of a bulk command, running under our sshd.

GNU time only sees the client process. The agent is a grandchild of the loopback sshd, so a
thread polls the high-water mark (VmHWM, monotone) of every agent below the sshd while a
command runs; the last reading before the agent exits is its peak within one poll interval.
"""

from __future__ import annotations

import threading
from pathlib import Path
from types import TracebackType

AGENT_MARKER = b"usr-agent"
"""The bootstrap compiles the agent under this name, so it appears in the agent's command line."""


def descendants(root_pid: int) -> list[int]:
    """Every live process below `root_pid`, read from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        ppid = int(text.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(stat.parent.name))
    found, todo = [], [root_pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def high_water_kib(pid: int) -> int | None:
    """VmHWM of `pid` in KiB, or None when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


class AgentPeak:
    """`with AgentPeak(sshd_pid) as watch: ...` then `watch.peak` (bytes, None if no agent was seen)."""

    def __init__(self, sshd_pid: int, interval: float = 0.05) -> None:
        self.sshd_pid = sshd_pid
        self.interval = interval
        self.peak: int | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self) -> AgentPeak:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()

    def _poll(self) -> None:
        while not self._stop.wait(self.interval):
            for pid in descendants(self.sshd_pid):
                if not _is_agent(pid):
                    continue
                kib = high_water_kib(pid)
                if kib is not None:
                    self.peak = max(self.peak or 0, kib * 1024)


def _is_agent(pid: int) -> bool:
    try:
        return AGENT_MARKER in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
