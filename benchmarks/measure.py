"""Timing whole processes: wall time, peak memory and the SSH connections each one opened.

A figure is the median of several runs with min and max beside it, because one run on a
shared two-core machine says little. Commands run as subprocesses so interpreter start-up
and imports count, exactly as an operator feels them.
"""

from __future__ import annotations

import os
import re
import resource
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from usr_harness.hosts.loopback import LoopbackSshd

T = TypeVar("T")
TIME_BIN = Path("/usr/bin/time")
_MAX_RSS = re.compile(r"Maximum resident set size \(kbytes\): (\d+)")


class BenchError(RuntimeError):
    """A measured command failed or did something other than what the figure assumes."""


@dataclass(frozen=True)
class Stats:
    """Median, min and max of the runs (kept too, so a later comparison can look at the spread)."""

    median: float
    min: float
    max: float
    runs: tuple[float, ...]

    @classmethod
    def of(cls, values: Iterable[float]) -> Stats:
        runs = tuple(values)
        if not runs:
            raise ValueError("no runs to summarise")
        return cls(statistics.median(runs), min(runs), max(runs), runs)

    def as_dict(self) -> dict[str, object]:
        return {"median": self.median, "min": self.min, "max": self.max, "runs": list(self.runs)}

    @classmethod
    def from_dict(cls, data: dict) -> Stats:
        return cls.of(float(value) for value in data["runs"])


@dataclass(frozen=True)
class Run:
    """One command: wall seconds, peak resident bytes (None when unknown), SSH connections opened."""

    seconds: float
    peak_rss: int | None
    connections: int
    stdout: str
    phases: dict[str, float] | None = None
    """Seconds per phase (`breakdown.py`): the engine's audit timings, rsync's --stats."""


def timed(action: Callable[[], T]) -> tuple[float, T]:
    """Wall seconds of one in-process call, and what it returned."""
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def peak_rss_kib(time_report: str) -> int | None:
    """The peak resident set size GNU time -v reports, in KiB."""
    found = _MAX_RSS.search(time_report)
    return int(found.group(1)) if found else None


class CommandRunner:
    """Runs commands against one loopback sshd and tells what each cost."""

    def __init__(self, host: LoopbackSshd) -> None:
        self.host = host
        self.with_time = TIME_BIN.is_file() and os.access(TIME_BIN, os.X_OK)

    def run(self, argv: Sequence[str]) -> Run:
        """Run `argv` to completion; a non-zero exit is a BenchError carrying its stderr."""
        before = self.host.connection_count()
        with tempfile.NamedTemporaryFile("r", prefix="bench-time-", suffix=".txt") as report:
            wrapped = [str(TIME_BIN), "-v", "-o", report.name, *argv] if self.with_time else list(argv)
            started = time.perf_counter()
            done = subprocess.run(wrapped, capture_output=True, text=True, check=False)
            seconds = time.perf_counter() - started
            peak = self._peak(report.read())
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip()[-1500:]
            raise BenchError(f"{' '.join(argv)} exited {done.returncode}: {tail}")
        return Run(seconds, peak, self.host.connection_count() - before, done.stdout)

    def _peak(self, time_report: str) -> int | None:
        if self.with_time:
            kib = peak_rss_kib(time_report)
            return None if kib is None else kib * 1024
        # Without GNU time: the largest child so far, an upper bound for this command.
        return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
