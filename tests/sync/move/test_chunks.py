"""Content-defined chunks: cuts that follow the bytes, and pieces that rebuild the new file exactly."""

from __future__ import annotations

import io
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from usr_harness.sync.move import chunks
from usr_harness.sync.move.chunks import (
    ANCHOR,
    MAX_CHUNK,
    MIN_CHUNK,
    chunk_spans,
    decode_digests,
    delta,
    encode_digests,
)


def spans_of(data: bytes, read_size: int | None = None) -> list[tuple[int, int, bytes]]:
    stream = io.BytesIO(data)
    if read_size is None:
        return list(chunk_spans(stream.read))
    return list(chunk_spans(lambda _size: stream.read(read_size)))


def noisy(seed: int, size: int) -> bytes:
    """Compressed-looking bytes: anchors every 64 KiB on average."""
    return random.Random(seed).randbytes(size)


def rebuild(old: bytes, new: bytes) -> bytes:
    """What the laptop writes: its own chunks for the reused pieces, the agent's ranges in line."""
    old_spans = spans_of(old)
    known = decode_digests(encode_digests(old_spans))
    new_spans = spans_of(new)
    pieces, ranges = delta(new_spans, known)
    literal = iter(new[offset : offset + length] for offset, length in ranges)
    out = bytearray()
    for piece in pieces:
        if piece >= 0:
            offset, length, _ = old_spans[piece]
            out += old[offset : offset + length]
        else:
            block = next(literal)
            assert len(block) == -piece
            out += block
    assert next(literal, None) is None
    return bytes(out)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32), size=st.integers(0, 3 * MAX_CHUNK), read_size=st.integers(1, 3 * MAX_CHUNK)
)
def test_the_cuts_depend_on_the_bytes_never_on_how_they_are_read(
    seed: int, size: int, read_size: int
) -> None:
    data = noisy(seed, size)
    assert spans_of(data, read_size) == spans_of(data)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32), size=st.integers(0, 3 * MAX_CHUNK))
def test_chunks_cover_the_file_back_to_back_within_their_bounds(seed: int, size: int) -> None:
    data = noisy(seed, size)
    spans = spans_of(data)
    assert sum(length for _, length, _ in spans) == size
    position = 0
    for index, (offset, length, _) in enumerate(spans):
        assert offset == position
        assert length <= MAX_CHUNK
        last = index == len(spans) - 1
        assert last or length >= MIN_CHUNK
        if not last and length < MAX_CHUNK:
            assert data[offset + length : offset + length + len(ANCHOR)] == ANCHOR
        position += length


def test_a_run_of_zeros_cuts_every_minimum_chunk_and_every_cut_matches() -> None:
    spans = spans_of(bytes(10 * MIN_CHUNK))
    assert [length for _, length, _ in spans] == [MIN_CHUNK] * 10
    assert len({digest for _, _, digest in spans}) == 1


def test_bytes_without_any_anchor_cut_at_the_maximum() -> None:
    data = b"\1" * (2 * MAX_CHUNK + 5)
    assert [length for _, length, _ in spans_of(data)] == [MAX_CHUNK, MAX_CHUNK, 5]


def test_an_insert_near_the_start_costs_about_one_chunk_not_the_whole_shifted_file() -> None:
    old = noisy(3, 4 << 20)
    new = old[:1000] + b"inserted rows" + old[1000:]
    known = decode_digests(encode_digests(spans_of(old)))
    sent = sum(length for _, length in delta(spans_of(new), known)[1])
    assert sent <= 2 * MAX_CHUNK
    assert rebuild(old, new) == new


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    size=st.integers(0, 4 * MAX_CHUNK),
    edits=st.lists(st.tuples(st.floats(0, 1), st.integers(-3000, 3000)), max_size=4),
)
def test_the_pieces_rebuild_the_new_file_exactly(
    seed: int, size: int, edits: list[tuple[float, int]]
) -> None:
    old = noisy(seed, size)
    new = old
    for where, change in edits:
        at = int(where * len(new))
        new = new[:at] + noisy(seed + at, change) + new[at:] if change > 0 else new[:at] + new[at - change :]
    assert rebuild(old, new) == new


def test_names_survive_the_request_and_a_repeated_chunk_keeps_its_first_index() -> None:
    spans = spans_of(bytes(3 * MIN_CHUNK) + noisy(1, MIN_CHUNK))
    known = decode_digests(encode_digests(spans))
    assert known[spans[0][2]] == 0
    assert known[spans[-1][2]] == len(spans) - 1
    assert len(next(iter(known))) == chunks.DIGEST_BYTES


def test_neighbouring_missing_chunks_go_as_one_piece_and_one_range() -> None:
    spans = [(0, 10, b"a"), (10, 5, b"b"), (15, 7, b"c"), (22, 3, b"d")]
    known = {b"c": 4}
    assert delta(spans, known) == ([-15, 4, -3], [(0, 15), (22, 3)])
