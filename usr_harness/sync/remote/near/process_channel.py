"""Run the agent behind a local process's pipes: the system `ssh` client, or the agent itself as a child."""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Sequence

from usr_harness.sync.remote.far.pipes import widen_pipe

STDERR_KEPT = 4000


class ProcessChannel:
    """A ByteChannel over a child's stdin/stdout; stderr is drained by a thread, keeping only its tail.

    The child's warnings, banners and tracebacks must never block it (a full stderr pipe would
    stall the protocol) nor reach stdout; the tail explains a refusal once the child has ended.
    """

    def __init__(self, argv: Sequence[str]) -> None:
        self.process = subprocess.Popen(
            list(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0
        )
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                widen_pipe(stream.fileno())
        self._stderr = bytearray()
        self._drain = threading.Thread(target=self._drain_stderr, daemon=True)
        self._drain.start()

    def _drain_stderr(self) -> None:
        assert self.process.stderr is not None
        descriptor = self.process.stderr.fileno()
        while block := os.read(descriptor, 1 << 16):
            self._stderr += block
            del self._stderr[:-STDERR_KEPT]

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
        """The tail of what the child wrote to stderr; empty while it still runs."""
        if self.process.poll() is None:
            return ""
        self._drain.join(timeout=5)
        return bytes(self._stderr).decode("utf-8", "replace").replace("\r", "").strip()

    def close(self) -> None:
        """End of input, then the child's exit (killed after 10 s); its stderr tail stays readable."""
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._drain.join(timeout=5)
        if self.process.stderr is not None:
            self.process.stderr.close()
