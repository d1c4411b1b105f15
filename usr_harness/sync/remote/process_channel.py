"""Run the agent behind a local process's pipes: the system `ssh` client, or a plain python for tests."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence

from usr_harness.sync.remote.pipes import widen_pipe


class ProcessChannel:
    """A ByteChannel over a child's stdin/stdout; stderr is kept for error messages."""

    def __init__(self, argv: Sequence[str]) -> None:
        self.process = subprocess.Popen(
            list(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0
        )
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                widen_pipe(stream.fileno())

    def sendall(self, data: bytes) -> None:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(data)
        except BrokenPipeError as error:
            raise OSError(f"agent process ended: {self.stderr_text()}") from error

    def recv(self, size: int) -> bytes:
        assert self.process.stdout is not None
        return os.read(self.process.stdout.fileno(), size)

    def stderr_text(self) -> str:
        if self.process.poll() is None or self.process.stderr is None:
            return ""
        return self.process.stderr.read().decode("utf-8", "replace").strip()[-500:]

    def close(self) -> None:
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
