"""Run the agent behind a local process's pipes: the system `ssh` client, or a plain python for tests."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence

PIPE_BYTES = 1 << 20
"""Linux pipes hold 64 KiB; 1 MiB (the unprivileged maximum) moved a 1 GiB pull through ssh 1.4 s faster."""


def widen_pipe(descriptor: int) -> None:
    """Best effort: only Linux can, and a lowered /proc/sys/fs/pipe-max-size may refuse."""
    import fcntl

    set_size = getattr(fcntl, "F_SETPIPE_SZ", None)
    if set_size is None:
        return
    try:
        fcntl.fcntl(descriptor, set_size, PIPE_BYTES)
    except OSError:
        return


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
