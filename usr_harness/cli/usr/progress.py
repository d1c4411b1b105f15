"""How `usr pull` / `usr push` show their progress (the engine only reports it: `sync/progress.py`).

On a terminal, a bar while files move (files, bytes, rate, ETA) like `rsync --info=progress2`;
off a terminal (CI logs, pipes), one line per phase on stdout, ahead of the audit block, and a
heartbeat line at most every 10 s while a phase runs long. After
the command, one summary line gives the elapsed time and MB/s.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Protocol, TextIO

from usr_harness.sync.progress import Moved, Observer

POLL_SECONDS = 0.1
HEARTBEAT_SECONDS = 10.0
"""Off a terminal, long work says where it stands at most this often."""


def megabytes(count: int) -> str:
    return f"{count / 1e6:.1f} MB"


def rate(count: int, seconds: float) -> str:
    return f"{count / 1e6 / seconds:.1f} MB/s" if seconds > 0 else "- MB/s"


def summary_line(action: str, dataset: str, audit: dict, seconds: float) -> str:
    """`pull demo: TRANSFERRED, 12 files, 31.2 MB in 2.4 s (13.0 MB/s)`."""
    data = audit.get("data", {})
    moved = data.get("transfer", {})
    line = f"{action} {dataset}: {data.get('transfer_state')}"
    if moved:
        line += f", {moved.get('files', 0)} files, {megabytes(int(moved.get('bytes', 0)))}"
    line += f" in {seconds:.1f} s"
    if moved:
        line += f" ({rate(int(moved.get('bytes', 0)), seconds)})"
    return line


class View(Observer, Protocol):
    """An observer the CLI draws with; `close` ends whatever it still shows."""

    def close(self) -> None: ...


class Tracker:
    """Remembers the last phase, so Ctrl-C can say what was and was not promoted."""

    def __init__(self, inner: View) -> None:
        self.inner = inner
        self.last: str | None = None

    def phase(self, name: str) -> None:
        self.last = name
        self.inner.phase(name)

    def transfer(self, files: int, total_bytes: int, moved: Moved) -> None:
        self.last = "transfer"
        self.inner.transfer(files, total_bytes, moved)

    def close(self) -> None:
        self.inner.close()


class NoView:
    """`--quiet`: shows nothing."""

    def phase(self, name: str) -> None:
        return None

    def transfer(self, files: int, total_bytes: int, moved: Moved) -> None:
        return None

    def close(self) -> None:
        return None


class PhaseLines:
    """Off a terminal: one flushed line per phase, one when the files have moved, and on long work a
    heartbeat line (what has moved so far, or how long the phase has run) at most every `heartbeat` s."""

    def __init__(
        self, label: str, stream: TextIO, heartbeat: float = HEARTBEAT_SECONDS, now=time.monotonic
    ) -> None:
        self.label = label
        self.stream = stream
        self.heartbeat = heartbeat
        self._now = now
        self._moving: tuple[int, int, Moved, float] | None = None
        self._phase: tuple[str, float] | None = None
        self._said = now()
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._beating: threading.Thread | None = None

    def _say(self, text: str) -> None:
        with self._lock:
            print(f"usr: {self.label}: {text}", file=self.stream, flush=True)
            self._said = self._now()

    def phase(self, name: str) -> None:
        self._moved()
        self._say(name)
        self._phase = (name, self._now())
        self._start_beating()

    def transfer(self, files: int, total_bytes: int, moved: Moved) -> None:
        self._say(f"transfer {files} files, {megabytes(total_bytes)}")
        self._moving = (files, total_bytes, moved, self._now())
        self._start_beating()

    def beat(self) -> None:
        """Say where the work stands when nothing was said for `heartbeat` seconds."""
        with self._lock:
            now = self._now()
            if self._phase is not None and now - self._said >= self.heartbeat:
                self._say(self._standing(now))

    def _standing(self, now: float) -> str:
        moving = self._moving
        if moving is None:
            name, since = self._phase
            return f"{name}: still working, {now - since:.0f} s"
        files, total, moved, started = moving
        done_files, done_bytes = moved()
        count = min(done_bytes, total)
        return (
            f"moving {min(done_files, files)}/{files} files, {megabytes(count)} of {megabytes(total)} "
            f"({rate(count, now - started)})"
        )

    def _start_beating(self) -> None:
        if self._beating is None:
            self._beating = threading.Thread(target=self._beat_loop, name="usr-heartbeat", daemon=True)
            self._beating.start()

    def _beat_loop(self) -> None:
        while not self._stop.wait(min(self.heartbeat / 4, 1.0)):
            self.beat()

    def _moved(self) -> None:
        if self._moving is None:
            return
        files, total, moved, started = self._moving
        self._moving = None
        seconds = self._now() - started
        done_files, done_bytes = moved()
        count = min(done_bytes, total)
        self._say(
            f"moved {min(done_files, files)}/{files} files, {megabytes(count)} in {seconds:.1f} s "
            f"({rate(count, seconds)})"
        )

    def close(self) -> None:
        self._stop.set()
        if self._beating is not None:
            self._beating.join()
            self._beating = None
        self._moved()


class TransferBar:
    """On a terminal: the phase as a status line, and a bar while files move, polled from a thread."""

    def __init__(self, label: str, terminal: TextIO) -> None:
        # rich.progress costs ~11 ms to import: only a command that draws a bar pays it.
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self.label = label
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=Console(file=terminal, highlight=False),
            transient=False,
        )
        self._task = None
        self._moving: tuple[int, int, Moved] = (0, 0, lambda: (0, 0))
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None

    def phase(self, name: str) -> None:
        self._finish_bar()
        self.progress.console.print(f"[dim]usr: {self.label}: {name}[/]", highlight=False)

    def transfer(self, files: int, total_bytes: int, moved: Moved) -> None:
        self.progress.start()
        self._task = self.progress.add_task(f"{self.label} 0/{files} files", total=max(total_bytes, 1))
        self._moving = (files, total_bytes, moved)
        self._stop.clear()
        self._poller = threading.Thread(target=self._poll, name="usr-progress", daemon=True)
        self._poller.start()

    def _update(self) -> None:
        files, total_bytes, moved = self._moving
        done_files, done_bytes = moved()
        self.progress.update(
            self._task,
            completed=min(done_bytes, total_bytes),
            description=f"{self.label} {min(done_files, files)}/{files} files",
        )

    def _poll(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            self._update()

    def _finish_bar(self) -> None:
        if self._poller is None:
            return
        self._stop.set()
        self._poller.join()
        self._poller = None
        self._update()
        self.progress.stop()

    def close(self) -> None:
        self._finish_bar()


def make_view(mode: str, label: str, terminal: TextIO | None = None, log: TextIO | None = None) -> Tracker:
    """`auto`: a bar when stderr (`terminal`) is a terminal, else phase lines; `bar`, `lines`, `quiet`.

    The bar draws on stderr; phase lines go to stdout (`log`) beside the audit block they lead to,
    as rsync's progress does, so a log or CI job reads them in order.
    """
    terminal = terminal or sys.stderr
    if mode == "auto":
        mode = "bar" if terminal.isatty() else "lines"
    if mode == "quiet":
        return Tracker(NoView())
    if mode == "lines":
        return Tracker(PhaseLines(label, log or sys.stdout))
    return Tracker(TransferBar(label, terminal))
