"""Where the bytes of a parquet file live, so a corruption lands where it is meant to.

A flip in page data is bit rot that page checksums must catch; a flip in a
statistics field of a page header or of the footer may decode silently. So the
byte flip targets page payloads only (found by walking the thrift page headers of
every column chunk), footer damage targets the footer's thrift metadata, and a
metadata tamper rewrites the file so both the parquet key-value metadata and
pyarrow's embedded schema carry the changed value (written with the dataset layer's
pinned options, so only that value differs).
"""

from __future__ import annotations

import random
import struct

import pyarrow as pa
import pyarrow.parquet as pq

from usr_harness.dataset.parquet_io import WRITE_OPTIONS

MAGIC = b"PAR1"
FOOTER_DAMAGE_BYTES = 16

_STOP, _TRUE, _FALSE, _BYTE, _I16, _I32, _I64, _DOUBLE, _BINARY, _LIST, _SET, _MAP, _STRUCT = range(13)
_COMPRESSED_PAGE_SIZE = 3


def footer_span(data: bytes) -> tuple[int, int]:
    """[start, end) of the thrift FileMetaData, from the length word before the trailing magic."""
    if len(data) < 12 or data[:4] != MAGIC or data[-4:] != MAGIC:
        raise ValueError("not a parquet file (magic bytes missing)")
    length = struct.unpack("<I", data[-8:-4])[0]
    start = len(data) - 8 - length
    if start < 4:
        raise ValueError("parquet footer length points outside the file")
    return start, len(data) - 8


def page_data_ranges(data: bytes) -> list[tuple[int, int]]:
    """[start, end) of every page payload (dictionary and data pages) of every column chunk."""
    reader = pq.ParquetFile(pa.BufferReader(data))
    metadata = reader.metadata
    footer_start, _ = footer_span(data)
    ranges = []
    for group in range(metadata.num_row_groups):
        row_group = metadata.row_group(group)
        for index in range(row_group.num_columns):
            column = row_group.column(index)
            start = column.data_page_offset
            if column.has_dictionary_page and column.dictionary_page_offset:
                start = min(start, column.dictionary_page_offset)
            ranges.extend(_chunk_pages(data, start, start + column.total_compressed_size, footer_start))
    return [span for span in ranges if span[1] > span[0]]


def page_data_offset(data: bytes, rng: random.Random) -> int:
    """A seeded offset inside some page payload: a byte the page checksum covers."""
    ranges = page_data_ranges(data)
    total = sum(end - start for start, end in ranges)
    if not total:
        raise ValueError("parquet file has no page data")
    pick = rng.randrange(total)
    for start, end in ranges:
        if pick < end - start:
            return start + pick
        pick -= end - start
    raise AssertionError("unreachable: pick lies within the ranges")


def tamper_metadata(data: bytes, key: str, rng: random.Random) -> tuple[bytes, str, str]:
    """The file rewritten as the dataset layer writes it, with `key`'s value changed to another of the
    same length, so a file the layer wrote keeps its size; returns (bytes, old value, new value)."""
    table = pq.read_table(pa.BufferReader(data))
    metadata = dict(table.schema.metadata or {})
    raw_key = key.encode()
    if raw_key not in metadata:
        raise KeyError(f"parquet metadata has no {key!r}")
    old = metadata[raw_key].decode()
    new = _changed_same_length(old, rng)
    metadata[raw_key] = new.encode()
    sink = pa.BufferOutputStream()
    pq.write_table(table.replace_schema_metadata(metadata), sink, **WRITE_OPTIONS)
    return sink.getvalue().to_pybytes(), old, new


def _changed_same_length(value: str, rng: random.Random) -> str:
    """`value` with one seeded character swapped for another of its class (digit, hex letter, letter)."""
    if not value:
        return "x"
    index = rng.randrange(len(value))
    char = value[index]
    for alphabet in ("0123456789", "abcdef", "abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"):
        if char in alphabet:
            break
    else:
        alphabet = "xy"
    replacement = rng.choice([other for other in alphabet if other != char])
    return value[:index] + replacement + value[index + 1 :]


def _chunk_pages(data: bytes, start: int, end: int, limit: int) -> list[tuple[int, int]]:
    if not 4 <= start < end <= limit:
        raise ValueError(f"column chunk [{start}, {end}) lies outside the page area")
    pages = []
    position = start
    while position < end:
        header_end, compressed = _page_header(data, position)
        payload_end = header_end + compressed
        if payload_end > end:
            raise ValueError(f"page at {position} runs past its column chunk")
        pages.append((header_end, payload_end))
        position = payload_end
    return pages


def _page_header(data: bytes, position: int) -> tuple[int, int]:
    """(end of the thrift compact PageHeader at `position`, its compressed_page_size)."""
    compressed = None
    field_id = 0
    while True:
        byte = data[position]
        position += 1
        kind = byte & 0x0F
        if kind == _STOP:
            break
        delta = byte >> 4
        if delta:
            field_id += delta
        else:
            raw, position = _varint(data, position)
            field_id = _zigzag(raw)
        if field_id == _COMPRESSED_PAGE_SIZE and kind == _I32:
            raw, position = _varint(data, position)
            compressed = _zigzag(raw)
        else:
            position = _skip(data, position, kind)
    if compressed is None or compressed < 0:
        raise ValueError("parquet page header without compressed_page_size")
    return position, compressed


def _skip(data: bytes, position: int, kind: int) -> int:
    if kind in (_TRUE, _FALSE):
        return position
    if kind == _BYTE:
        return position + 1
    if kind in (_I16, _I32, _I64):
        return _varint(data, position)[1]
    if kind == _DOUBLE:
        return position + 8
    if kind == _BINARY:
        length, position = _varint(data, position)
        return position + length
    if kind in (_LIST, _SET):
        header = data[position]
        position += 1
        count, element = header >> 4, header & 0x0F
        if count == 15:
            count, position = _varint(data, position)
        for _ in range(count):
            position = _skip_element(data, position, element)
        return position
    if kind == _MAP:
        count, position = _varint(data, position)
        if count:
            types = data[position]
            position += 1
            for _ in range(count):
                position = _skip_element(data, position, types >> 4)
                position = _skip_element(data, position, types & 0x0F)
        return position
    if kind == _STRUCT:
        while True:
            byte = data[position]
            position += 1
            if byte & 0x0F == _STOP:
                return position
            if not byte >> 4:
                position = _varint(data, position)[1]
            position = _skip(data, position, byte & 0x0F)
    raise ValueError(f"unknown thrift compact type {kind}")


def _skip_element(data: bytes, position: int, kind: int) -> int:
    """Collection elements: booleans take one byte each, unlike boolean fields."""
    if kind in (_TRUE, _FALSE):
        return position + 1
    return _skip(data, position, kind)


def _varint(data: bytes, position: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, position
        shift += 7


def _zigzag(value: int) -> int:
    return (value >> 1) ^ -(value & 1)
