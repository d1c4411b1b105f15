"""The staged checks of one pull, in a process of their own (`python -m` this module).

pyarrow's import and the decoding of what a pull stages took 130-175 ms of the pull's process
after a batch, all of it holding the GIL the receive, the rebuild over old copies and the SSH
channel need; here they run on another core. The pull starts this worker once its gate has
passed, so the imports overlap the locks and the re-plan, then hands it every `Checks` call as
one JSON line on stdin; each verdict comes back as one line on stdout. Behind the lines it is a
`LocalChecks`: the same checks, the same verdicts.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import BinaryIO

import usr_harness.dataset.validation
import usr_harness.sync.move.arriving_parquet  # noqa: F401
from usr_harness.errors import UsrError
from usr_harness.sync.commit.checks import LocalChecks
from usr_harness.sync.commit.verify import StagedChecks


def encode_error(error: BaseException | None) -> dict | None:
    """A verdict as the parent rebuilds it (`checks_process.decode_error`)."""
    if error is None:
        return None
    if isinstance(error, UsrError):
        return {"kind": "usr", "family": error.family, "message": error.message, "paths": error.paths}
    if isinstance(error, OSError):
        return {"kind": "os", "errno": error.errno, "strerror": error.strerror, "filename": error.filename}
    return {"kind": "other", "message": f"{type(error).__name__}: {error}"}


class Worker:
    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._out_lock = threading.Lock()
        self._checks: LocalChecks | None = None

    def handle(self, message: dict) -> None:
        op, path = message["op"], message.get("path", "")
        if op == "stage":
            staged = StagedChecks(
                message["dataset"], Path(message["local_dir"]), message["stage"], message["parts"]
            )
            self._checks = LocalChecks(message["stage"], staged.check)
        elif self._checks is None:
            raise ValueError(f"{op!r} before the stage was named")
        elif op == "footer":
            self._checks.footer(path, base64.b64decode(message["footer"]))
        elif op == "staged":
            self._checks.staged(path, message["size"])
        elif op == "whole":
            verdict = self._checks.whole(path, message["size"], written=message["written"])
            verdict.add_done_callback(lambda done, path=path: self._answer(path, done))
        else:
            raise ValueError(f"unknown op {op!r}")

    def _answer(self, path: str, verdict: Future) -> None:
        line = json.dumps({"path": path, "error": encode_error(verdict.result())}).encode() + b"\n"
        with self._out_lock:
            self._out.write(line)

    def close(self) -> None:
        if self._checks is not None:
            self._checks.close()


def main() -> None:
    """Only verdicts go to stdout: anything else the libraries print is sent to stderr."""
    out = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    worker = Worker(out)
    try:
        for line in sys.stdin.buffer:
            worker.handle(json.loads(line))
    finally:
        worker.close()


if __name__ == "__main__":
    main()
