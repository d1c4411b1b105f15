"""Content-defined chunks, so a pull moves only the parts of a rewritten file the laptop lacks.

A batch rewrites `records.parquet` whole: the new file keeps most of the old one's pages, but
at shifted offsets (each column chunk grew a little), so fixed-offset blocks barely match. A
chunk here ends just before an `ANCHOR` byte pair found between `MIN_CHUNK` and `MAX_CHUNK`
bytes from its start, so the cuts follow the content and line up again right after a change.
Each chunk is named by a truncated sha256; the pulled file is still checked whole against its
full sha256, so a chunk name that collided could never be promoted. `bytes.find` and hashlib
run in C, which keeps the agent stdlib only and the cost near one read and hash of the file.
Stdlib only: the agent ships it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator

ANCHOR = b"\0\0"
"""Common in parquet pages (small integers, levels, dictionary indices) and every 64 KiB on average
in compressed bytes; a run of zeros cuts every `MIN_CHUNK` bytes, and those chunks all match."""
MIN_CHUNK = 4096
MAX_CHUNK = 1 << 18
DIGEST_BYTES = 16
READ_SIZE = 1 << 20
DELTA_MIN_BYTES = 1 << 20
"""A smaller file goes whole: naming its chunks would cost about what it saves."""


def chunk_spans(read: Callable[[int], bytes]) -> Iterator[tuple[int, int, bytes]]:
    """`(offset, length, digest)` of each chunk of what `read` returns until it returns nothing.

    The cuts depend on the bytes only, never on how `read` splits them: a cut is searched for in
    a full `MAX_CHUNK` window whenever the file has that many bytes left.
    """
    buffer = b""
    position = 0
    base = 0
    ended = False
    while True:
        if not ended and len(buffer) - position < MAX_CHUNK:
            block = read(READ_SIZE)
            if block:
                base += position
                buffer = buffer[position:] + block
                position = 0
                continue
            ended = True
        if position >= len(buffer):
            return
        limit = min(position + MAX_CHUNK, len(buffer))
        cut = buffer.find(ANCHOR, position + MIN_CHUNK, limit) if position + MIN_CHUNK < limit else -1
        end = cut if cut >= 0 else limit
        digest = hashlib.sha256(memoryview(buffer)[position:end]).digest()[:DIGEST_BYTES]
        yield base + position, end - position, digest
        position = end


def encode_digests(spans: list[tuple[int, int, bytes]]) -> str:
    """The request's form of a file's chunk names: their hex, back to back."""
    return b"".join(digest for _, _, digest in spans).hex()


def decode_digests(text: str) -> dict[bytes, int]:
    """Chunk name -> its first index in the laptop's file."""
    raw = bytes.fromhex(text)
    known: dict[bytes, int] = {}
    for index in range(len(raw) // DIGEST_BYTES):
        known.setdefault(raw[index * DIGEST_BYTES : (index + 1) * DIGEST_BYTES], index)
    return known


def delta(
    spans: list[tuple[int, int, bytes]], known: dict[bytes, int]
) -> tuple[list[int], list[tuple[int, int]]]:
    """The new file as the laptop rebuilds it, and the bytes the agent sends for that.

    `pieces`: `i >= 0` is the laptop's chunk `i`, `-n` is `n` bytes sent in line; `ranges`: the
    `(offset, length)` of those bytes in the new file, in order. Neighbouring missing chunks are
    one piece and one range.
    """
    pieces: list[int] = []
    ranges: list[tuple[int, int]] = []
    for offset, length, digest in spans:
        index = known.get(digest)
        if index is not None:
            pieces.append(index)
        elif pieces and pieces[-1] < 0:
            pieces[-1] -= length
            ranges[-1] = (ranges[-1][0], ranges[-1][1] + length)
        else:
            pieces.append(-length)
            ranges.append((offset, length))
    return pieces, ranges
