"""Record ids: hex sha1 of UTF-8 `"<bio_type>|<sequence.strip()>"`, computed in bulk.

`strip` follows Python's `str.strip()` exactly (29 whitespace characters, not only
ASCII), because the id is defined by it; the vectorised path only falls back to
Python for the rare rows that actually carry such whitespace at an end.
"""

from __future__ import annotations

import hashlib

import pyarrow as pa
import pyarrow.compute as pc

# Every code point `str.isspace()` accepts (what `str.strip()` removes); a test recomputes it.
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_WS_CLASS = "[" + "".join(f"\\x{{{ord(ch):x}}}" for ch in WHITESPACE) + "]"
_EDGE_WHITESPACE = f"^{_WS_CLASS}|{_WS_CLASS}$"


def record_id(bio_type: str, sequence: str) -> str:
    """The id of one record."""
    return hashlib.sha1(f"{bio_type}|{sequence.strip()}".encode()).hexdigest()


def _as_string_array(values: pa.Array | pa.ChunkedArray | list) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    elif not isinstance(values, pa.Array):
        values = pa.array(values, pa.string())
    if not pa.types.is_string(values.type):
        values = values.cast(pa.string())
    return values


def strip_sequences(sequences: pa.Array | pa.ChunkedArray | list) -> pa.Array:
    """`str.strip()` of every sequence (nulls stay null)."""
    array = _as_string_array(sequences)
    edges = pc.match_substring_regex(array, _EDGE_WHITESPACE)
    if not pc.any(edges).as_py():
        return array
    return pa.array([None if s is None else s.strip() for s in array.to_pylist()], pa.string())


def compute_ids(bio_types: pa.Array | pa.ChunkedArray | list, sequences: pa.Array | list) -> pa.Array:
    """Ids for aligned bio types and sequences; a null in either gives a null id."""
    joined = pc.binary_join_element_wise(_as_string_array(bio_types), strip_sequences(sequences), "|")
    keys = pc.fill_null(joined, "").cast(pa.binary()).to_pylist()
    digests = pa.array([digest.hexdigest() for digest in map(hashlib.sha1, keys)], pa.string())
    if joined.null_count:
        digests = pc.if_else(pc.is_null(joined), pa.scalar(None, pa.string()), digests)
    return digests
