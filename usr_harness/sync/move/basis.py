"""The laptop's old copy of a file being pulled: its chunk names go out, its chunks rebuild the new copy.

The agent answers with `pieces` (`chunks.delta`); `rebuilt` turns them back into the new
file's bytes in order, so the stage, its checks and the whole-file sha256 see exactly what a
whole-file send would have given them.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from usr_harness.errors import VerifyError
from usr_harness.sync.move.chunks import DIGEST_BYTES, chunk_spans, encode_digests


class BasisFile:
    def __init__(self, rel: str, path: Path) -> None:
        self.rel = rel
        self.path = Path(path)
        with open(self.path, "rb", buffering=0) as handle:
            self.stat = _identity(os.fstat(handle.fileno()))
            self.spans = list(chunk_spans(handle.read))

    def current(self) -> bool:
        """Whether the file is still the one these chunks were named from (by its stat)."""
        try:
            return _identity(os.stat(self.path)) == self.stat
        except OSError:
            return False

    def digests(self) -> str:
        return encode_digests(self.spans)

    def rebuilt(
        self,
        pieces: list[int],
        literal: Callable[[int], Iterator[bytes]],
        on_reused: Callable[[int], None],
    ) -> Iterator[bytes]:
        """The new file's blocks: each reused chunk read back and checked against the name it was
        sent under (a laptop file changed since would otherwise be blamed on the transfer)."""
        with open(self.path, "rb", buffering=0) as handle:
            for piece in pieces:
                if piece < 0:
                    yield from literal(-piece)
                    continue
                offset, length, digest = self.spans[piece]
                handle.seek(offset)
                block = handle.read(length)
                if hashlib.sha256(block).digest()[:DIGEST_BYTES] != digest:
                    raise VerifyError(
                        f"local {self.rel} changed while it was being pulled over (chunk at byte {offset})",
                        paths=[self.rel],
                        side="local",
                    )
                on_reused(length)
                yield block


def _identity(info: os.stat_result) -> tuple[int, int, int, int]:
    return info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns
