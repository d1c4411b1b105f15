"""Bulk random sequences built straight into Arrow buffers, so a million rows cost a fraction of a second."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_INVALID_CANDIDATES = b"JZOUBX*#@!0123456789"


def _byte_table(symbols: bytes) -> np.ndarray:
    """Map every byte value to a symbol (multiply-shift), so one random byte picks one symbol."""
    picks = (np.arange(256, dtype=np.uint32) * len(symbols)) >> 8
    return np.frombuffer(symbols, dtype=np.uint8)[picks]


def invalid_symbol(symbols: str) -> str:
    """A character outside `symbols` (compared case-insensitively), used to break an alphabet on purpose."""
    allowed = set(symbols.upper()) | set(symbols.lower())
    for code in _INVALID_CANDIDATES:
        if chr(code) not in allowed:
            return chr(code)
    raise ValueError(f"no invalid symbol left for alphabet {symbols!r}")


def random_sequences(
    rng: np.random.Generator,
    n: int,
    symbols: str,
    length_range: tuple[int, int],
    *,
    invalid: bool = False,
) -> pa.StringArray:
    """`n` sequences over `symbols` with lengths uniform in `length_range` (inclusive).

    With `invalid`, one position of every sequence is replaced by a symbol outside the alphabet.
    """
    low, high = length_range
    if n < 0 or low < 1 or high < low:
        raise ValueError(f"need n >= 0 and 1 <= low <= high, got n={n}, length_range={length_range}")
    lengths = rng.integers(low, high + 1, size=n, dtype=np.int64)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    total = int(offsets[-1])
    if total >= 2**31:
        raise ValueError(f"{total} sequence bytes exceed one Arrow string array; generate in batches")
    raw = rng.bit_generator.random_raw((total + 7) // 8).view(np.uint8)[:total]
    data = _byte_table(symbols.encode("ascii"))[raw]
    if invalid and n:
        where = offsets[:-1] + rng.integers(0, lengths, dtype=np.int64)
        data[where] = ord(invalid_symbol(symbols))
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(data))


MAX_REDRAWS = 64
NEGLIGIBLE = 1e-9
"""Expected number of repeated pairs below which the (costly, ~1 s per million) repeat check is skipped."""


def expected_repeats(n: int, alphabet_size: int, length_range: tuple[int, int]) -> float:
    """Birthday bound: expected pairs of equal sequences among `n` uniform draws."""
    low, high = length_range
    per_length = n / (high - low + 1)
    return sum(per_length * per_length / 2 * alphabet_size**-length for length in range(low, high + 1))


def distinct_sequences(
    rng: np.random.Generator,
    n: int,
    symbols: str,
    length_range: tuple[int, int],
    *,
    invalid: bool = False,
) -> pa.StringArray:
    """Like `random_sequences`, but no sequence twice: repeats would be duplicate ids in one bio type.

    Repeats are only plausible with short lengths; then they are redrawn from the same stream, so
    the result stays a function of the seed. Otherwise the check is skipped (see NEGLIGIBLE).
    """
    sequences = random_sequences(rng, n, symbols, length_range, invalid=invalid)
    if expected_repeats(n, len(symbols), length_range) < NEGLIGIBLE:
        return sequences
    low, high = length_range
    if n > sum(len(symbols) ** length for length in range(low, high + 1)):
        raise ValueError(f"only so many distinct sequences of length {low}..{high}; {n} were asked for")
    for _ in range(MAX_REDRAWS):
        if pc.count_distinct(sequences).as_py() == n:
            return sequences
        values = sequences.to_pylist()
        seen: set[str] = set()
        repeats = [i for i, value in enumerate(values) if value in seen or seen.add(value)]
        fresh = random_sequences(rng, len(repeats), symbols, length_range, invalid=invalid).to_pylist()
        for index, value in zip(repeats, fresh, strict=True):
            values[index] = value
        sequences = pa.array(values, pa.string())
    raise ValueError(f"could not draw {n} distinct sequences of length {low}..{high} in {MAX_REDRAWS} rounds")
