"""The pull's side of `checks_worker`: a `Checks` whose calls become lines to a child process.

A worker that ends early, or cannot start, fails every verdict it owes with a `StagingError`
naming what it printed: a file is never promoted unchecked.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import threading
from concurrent.futures import Future
from pathlib import Path

import usr_harness
from usr_harness.errors import FAMILY_BY_NAME, StagingError
from usr_harness.sync.commit.verify import StagedChecks
from usr_harness.sync.process_channel import ProcessChannel

WORKER_MODULE = "usr_harness.sync.commit.checks_worker"


def decode_error(encoded: dict | None) -> BaseException | None:
    """The verdict `checks_worker.encode_error` sent, as the exception the checks raised."""
    if encoded is None:
        return None
    if encoded["kind"] == "usr":
        return FAMILY_BY_NAME[encoded["family"]](encoded["message"], paths=encoded["paths"])
    if encoded["kind"] == "os":
        return OSError(encoded["errno"], encoded["strerror"], encoded["filename"])
    return StagingError(f"staged check failed: {encoded['message']}")


def worker_argv() -> list[str]:
    return [sys.executable, "-m", WORKER_MODULE]


def worker_env() -> dict[str, str]:
    """The worker imports the very package this process runs, wherever it was loaded from."""
    root = str(Path(usr_harness.__file__).resolve().parent.parent)
    path = os.pathsep.join(part for part in (root, os.environ.get("PYTHONPATH", "")) if part)
    return {**os.environ, "PYTHONPATH": path}


class WorkerChecks:
    """Started ahead of the stage (`start`), told the stage once it exists (`begin`)."""

    def __init__(self, channel: ProcessChannel) -> None:
        self._channel = channel
        self._send_lock = threading.Lock()
        self._owed: dict[str, Future] = {}
        self._owed_lock = threading.Lock()
        self._ended: str | None = None
        self._begun = False
        self._reader = threading.Thread(target=self._read, name="usr-checks-reader", daemon=True)
        self._reader.start()

    @classmethod
    def start(cls) -> WorkerChecks:
        return cls(ProcessChannel(worker_argv(), env=worker_env()))

    def begin(self, dataset: str, local_dir: Path, stage: str, parts: list[str]) -> None:
        self._begun = True
        self._send(
            {"op": "stage", "dataset": dataset, "local_dir": str(local_dir), "stage": stage, "parts": parts}
        )

    def footer(self, path: str, footer: bytes) -> None:
        self._send({"op": "footer", "path": path, "footer": base64.b64encode(footer).decode("ascii")})

    def staged(self, path: str, size: int) -> None:
        self._send({"op": "staged", "path": path, "size": size})

    def whole(self, path: str, size: int, *, written: bool) -> Future[BaseException | None]:
        verdict: Future[BaseException | None] = Future()
        if not StagedChecks.checks(path):
            verdict.set_result(None)
            return verdict
        with self._owed_lock:
            if self._ended is not None:
                verdict.set_result(self._failure(path))
                return verdict
            self._owed[path] = verdict
        self._send({"op": "whole", "path": path, "size": size, "written": written})
        return verdict

    def close(self) -> None:
        """A worker never given a stage is killed (it may still be importing); one that was ends
        its input, finishes what it runs, answers and exits."""
        if not self._begun:
            self._channel.process.kill()
        self._channel.end_input()
        self._reader.join(timeout=30)
        self._channel.close()

    def _send(self, message: dict) -> None:
        line = json.dumps(message, separators=(",", ":")).encode() + b"\n"
        try:
            with self._send_lock:
                self._channel.sendall(line)
        except OSError:
            self._end()

    def _read(self) -> None:
        buffer = b""
        try:
            while block := self._channel.recv(1 << 16):
                buffer += block
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    answer = json.loads(line)
                    with self._owed_lock:
                        verdict = self._owed.pop(answer["path"])
                    verdict.set_result(decode_error(answer["error"]))
        except (OSError, ValueError):
            pass
        self._end()

    def _end(self) -> None:
        """No more verdicts will come: each one still owed fails closed."""
        with self._owed_lock:
            self._ended = self._ended or "ended"
            owed, self._owed = self._owed, {}
        for path, verdict in owed.items():
            verdict.set_result(self._failure(path))

    def _failure(self, path: str) -> StagingError:
        said = self._channel.stderr_text().splitlines()[-3:]
        detail = f": {' / '.join(said)}" if said else ""
        return StagingError(f"the staged checks stopped before {path} was checked{detail}", paths=[path])
