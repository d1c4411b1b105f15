"""Pure edits of an event log's bytes: each returns the new bytes (or the bytes to append) and a note.

Every edit is chosen so its effect on the SPEC §2 rules is certain, not likely:
a text flip turns an ASCII byte into a lone non-ASCII byte (always invalid UTF-8), a
branch rewrites digits of the last timestamp (same size, still valid JSON), an
oversize record is a valid event over the 1 MiB line limit.
"""

from __future__ import annotations

import json
import random
import re

LINE_LIMIT = 1 << 20
_TIMESTAMP_MICROS = re.compile(rb'"timestamp_utc"\s*:\s*"[^"]*?\.(\d{6})Z"')


class EventEditError(ValueError):
    """The log is too short or too odd for this edit (e.g. one line cannot be reordered)."""


def line_spans(data: bytes) -> list[tuple[int, int]]:
    """[start, end) of each line, the newline included; a final unterminated line counts too."""
    spans = []
    start = 0
    while start < len(data):
        newline = data.find(b"\n", start)
        end = len(data) if newline < 0 else newline + 1
        spans.append((start, end))
        start = end
    return spans


def drop_last_lines(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """Keep a seeded number of whole lines: still a valid log, but history got shorter."""
    spans = line_spans(data)
    if len(spans) < 2:
        raise EventEditError("the event log needs at least 2 lines to lose some")
    keep = rng.randint(1, len(spans) - 1)
    return data[: spans[keep - 1][1]], f"kept {keep} of {len(spans)} lines"


def cut_mid_line(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """Cut strictly inside a seeded line, as a crash mid-write would."""
    spans = [(start, end) for start, end in line_spans(data) if _content_end(data, end) - start >= 2]
    if not spans:
        raise EventEditError("the event log has no line long enough to cut inside")
    start, end = rng.choice(spans)
    cut = rng.randint(start + 1, _content_end(data, end) - 1)
    return data[:cut], f"cut at byte {cut} of {len(data)}, inside the line at {start}"


def ascii_offset(data: bytes, rng: random.Random) -> int:
    """A seeded ASCII, non-newline byte of a text file: XOR 0x80 there always yields invalid UTF-8."""
    if not data:
        raise EventEditError("the file is empty")
    start = rng.randrange(len(data))
    for step in range(len(data)):
        offset = (start + step) % len(data)
        if data[offset] < 0x80 and data[offset] != 0x0A:
            return offset
    raise EventEditError("the file has no ASCII byte to flip")


def branch_last_line(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """Same size, still valid JSON lines, different history: new microseconds in the last timestamp."""
    spans = line_spans(data)
    if not spans:
        raise EventEditError("the event log is empty")
    start, end = spans[-1]
    match = _TIMESTAMP_MICROS.search(data, start, end)
    if match is None:
        raise EventEditError("the last event has no timestamp_utc with microseconds")
    old = match.group(1)
    new = old
    while new == old:
        new = f"{rng.randrange(10**6):06d}".encode()
    edited = data[: match.start(1)] + new + data[match.end(1) :]
    json.loads(edited[start:end])
    return edited, f"last event timestamp microseconds {old.decode()} -> {new.decode()}"


def swap_lines(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """Swap two seeded lines that differ: same bytes, same size, history out of order."""
    spans = line_spans(data)
    if data and not data.endswith(b"\n"):
        raise EventEditError("the event log lacks its final newline; reordering would merge lines")
    lines = [data[start:end] for start, end in spans]
    pairs = [(i, j) for i in range(len(lines)) for j in range(i + 1, len(lines)) if lines[i] != lines[j]]
    if not pairs:
        raise EventEditError("the event log needs two different lines to reorder")
    first, second = rng.choice(pairs)
    lines[first], lines[second] = lines[second], lines[first]
    return b"".join(lines), f"swapped lines {first + 1} and {second + 1}"


def invalid_utf8_line(data: bytes) -> bytes:
    """A complete line shaped like the last event whose action holds bytes that are not UTF-8."""
    line = _event_line(data, "usr-harness-PLACEHOLDER")
    return line.replace(b"PLACEHOLDER", b"\xc3\x28\xff") + b"\n"


def oversize_line(data: bytes) -> bytes:
    """A valid event line (newline included) just over the 1 MiB limit."""
    event = _last_event(data)
    event["action"] = "usr-harness-oversize"
    event["args"] = {"padding": ""}
    base = len(_dump(event)) + 1
    event["args"] = {"padding": "x" * (LINE_LIMIT + 1 - base)}
    return _dump(event) + b"\n"


def unterminated_line(data: bytes) -> bytes:
    """A valid event with no newline after it (the log then lacks its final newline)."""
    return _event_line(data, "usr-harness-unterminated")


def _event_line(data: bytes, action: str) -> bytes:
    event = _last_event(data)
    event["action"] = action
    return _dump(event)


def _last_event(data: bytes) -> dict[str, object]:
    """The last line's event as a template; a minimal event when it does not parse."""
    for start, end in reversed(line_spans(data)):
        try:
            event = json.loads(data[start:end])
        except ValueError:
            continue
        if isinstance(event, dict):
            return event
    return {"event_version": 1, "timestamp_utc": "2026-01-01T00:00:00.000000Z", "action": ""}


def _dump(event: dict[str, object]) -> bytes:
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()


def _content_end(data: bytes, end: int) -> int:
    return end - 1 if data[end - 1 : end] == b"\n" else end
