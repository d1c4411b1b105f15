"""The append-only event log (`.events.log`): one compact JSON object per line, secrets redacted.

Sync compares logs as byte prefixes of each other, so a line is never rewritten: it
is built whole, checked against the 1 MiB limit, then appended in one write under
`.events.lock` and fsynced; a failed write is truncated back off.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from usr_harness import __version__
from usr_harness.dataset.context import WriteContext
from usr_harness.dataset.fsio import file_kind, fsync_dir
from usr_harness.dataset.layout import EVENTS_FILE, RECORDS_FILE
from usr_harness.dataset.locks import DEFAULT_TIMEOUT, events_lock
from usr_harness.dataset.pending import refuse_if_mid_promotion
from usr_harness.dataset.quoting import quote
from usr_harness.dataset.stamps import rfc3339
from usr_harness.errors import EventsError

EVENT_VERSION = 1
MAX_EVENT_BYTES = 1 << 20
"""Largest line, newline included."""

REDACTED = "***REDACTED***"
SECRET_MARKERS = (
    "secret",
    "token",
    "password",
    "passwd",
    "api_key",
    "auth",
    "credential",
    "bearer",
    "cookie",
    "session",
    "webhook",
)


def is_secret_key(key: object) -> bool:
    """True for a key that names a secret (case-insensitive; `-` counts as `_`)."""
    text = str(key).lower().replace("-", "_")
    return any(marker in text for marker in SECRET_MARKERS)


def redact(obj: object) -> object:
    """A copy of `obj` with the value of every secret-looking key, at any depth, replaced."""
    if isinstance(obj, dict):
        return {key: REDACTED if is_secret_key(key) else redact(value) for key, value in obj.items()}
    if isinstance(obj, list | tuple):
        return [redact(value) for value in obj]
    return obj


def records_fingerprint(dataset_dir: Path) -> dict[str, int]:
    """Rows, columns and size of `records.parquet` from its footer (zeros when it is absent)."""
    import pyarrow.parquet as pq  # here, not at the top: the sync engine checks logs without pyarrow

    path = Path(dataset_dir) / RECORDS_FILE
    if not path.is_file():
        return {"rows": 0, "cols": 0, "size_bytes": 0}
    footer = pq.read_metadata(path)
    return {
        "rows": footer.num_rows,
        "cols": len(footer.schema.to_arrow_schema()),
        "size_bytes": path.stat().st_size,
    }


def build_event(
    action: str,
    *,
    dataset_id: str,
    root: Path | str,
    ctx: WriteContext,
    fingerprint: dict,
    registry_hash: str | None,
    args: dict | None = None,
    metrics: dict | None = None,
    artifacts: list | dict | None = None,
    maintenance: dict | None = None,
) -> dict:
    """Every field of an event line, in the fixed order they are written."""
    return {
        "event_version": EVENT_VERSION,
        "timestamp_utc": rfc3339(ctx.clock()),
        "action": action,
        "dataset": {"name": dataset_id, "root": ctx.root_label or str(root)},
        "args": redact(dict(args or {})),
        "metrics": dict(metrics or {}),
        "artifacts": artifacts if artifacts is not None else [],
        "maintenance": dict(maintenance or {}),
        "fingerprint": dict(fingerprint),
        "registry_hash": registry_hash,
        "actor": ctx.actor.as_dict(),
        "version": __version__,
    }


def encode_event(event: dict) -> bytes:
    """One compact UTF-8 JSON line; EventsError when it cannot be encoded or exceeds the limit."""
    try:
        text = json.dumps(event, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=str)
        line = text.encode("utf-8") + b"\n"
    except (TypeError, ValueError) as error:
        raise EventsError(f"event {event.get('action')!r} cannot be encoded as JSON: {error}") from None
    if len(line) > MAX_EVENT_BYTES:
        raise EventsError(
            f"event {event.get('action')!r} is {len(line)} bytes, over the {MAX_EVENT_BYTES}-byte line limit"
        )
    return line


def _append_line(log: Path, line: bytes) -> None:
    created = not log.exists()
    fd = os.open(log, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            raise EventsError(
                f"{log}: does not end with a newline; refusing to append to a torn log", paths=[str(log)]
            )
        try:
            view = memoryview(line)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        except BaseException:
            os.ftruncate(fd, size)
            raise
    finally:
        os.close(fd)
    if created:
        fsync_dir(log.parent)


def append_event(
    dataset_dir: Path,
    action: str,
    *,
    dataset_id: str,
    root: Path | str,
    ctx: WriteContext,
    args: dict | None = None,
    metrics: dict | None = None,
    artifacts: list | dict | None = None,
    maintenance: dict | None = None,
    fingerprint: dict | None = None,
    registry_hash: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> dict:
    """Build, check and append one event; fingerprint and registry hash default to the current ones."""
    from usr_harness.dataset.registry import registry_hash as current_registry_hash

    dataset_dir = Path(dataset_dir)
    event = build_event(
        action,
        dataset_id=dataset_id,
        root=root,
        ctx=ctx,
        fingerprint=fingerprint if fingerprint is not None else records_fingerprint(dataset_dir),
        registry_hash=registry_hash if registry_hash is not None else current_registry_hash(Path(root)),
        args=args,
        metrics=metrics,
        artifacts=artifacts,
        maintenance=maintenance,
    )
    line = encode_event(event)
    with events_lock(dataset_dir, timeout=timeout, ctx=ctx):
        refuse_if_mid_promotion(dataset_dir, dataset_id)
        _append_line(dataset_dir / EVENTS_FILE, line)
    return event


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _line_problem(line: bytes) -> str | None:
    if not line.strip():
        return "blank line"
    if len(line) + 1 > MAX_EVENT_BYTES:
        return f"oversize record ({len(line) + 1} bytes > {MAX_EVENT_BYTES})"
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as error:
        return f"invalid UTF-8 at byte {error.start}"
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except ValueError as error:
        return f"not JSON ({error})"
    if not isinstance(value, dict):
        return f"not an object (a JSON {type(value).__name__})"
    secret = _unredacted(value)
    if secret is not None:
        return f"the value under key {secret!r} is a secret written unredacted"
    return None


def _unredacted(obj: object) -> str | None:
    """The first secret-looking key, at any depth, whose value is not the redaction mark."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            if is_secret_key(key) and value != REDACTED:
                return str(key)
            found = _unredacted(value)
            if found is not None:
                return found
    elif isinstance(obj, list):
        for value in obj:
            found = _unredacted(value)
            if found is not None:
                return found
    return None


def validate_event_log(data: bytes, *, source: str = EVENTS_FILE) -> int:
    """Number of lines of a well-formed log; EventsError naming the first bad line otherwise."""
    if not data:
        return 0
    lines = data.split(b"\n")
    complete, last = lines[:-1], lines[-1]
    for number, line in enumerate(complete, start=1):
        problem = _line_problem(line)
        if problem:
            raise EventsError(f"{source}: line {number}: {problem}", paths=[source])
    if last:
        problem = _line_problem(last)
        detail = f"{problem}, and missing final newline" if problem else "missing final newline"
        raise EventsError(f"{source}: line {len(lines)}: {detail}", paths=[source])
    return len(complete)


def read_event_log(dataset_dir: Path) -> bytes:
    path = Path(dataset_dir) / EVENTS_FILE
    kind = file_kind(path)
    if kind == "missing":
        return b""
    if kind != "file":
        raise EventsError(f"{quote(path)}: the event log is a {kind}, not a regular file", paths=[str(path)])
    return path.read_bytes()


def tail_events(dataset_dir: Path, n: int = 10) -> list[dict]:
    """The last `n` events, oldest first; the whole log is validated first."""
    data = read_event_log(dataset_dir)
    validate_event_log(data, source=str(Path(dataset_dir) / EVENTS_FILE))
    if n <= 0 or not data:
        return []
    return [json.loads(line) for line in data.split(b"\n")[:-1][-n:]]
