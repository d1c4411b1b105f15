"""Time formats the layout fixes: RFC 3339 (microseconds, Z) in metadata and events, stamps in names."""

from __future__ import annotations

from datetime import UTC, datetime

FILE_STAMP_FORMAT = "%Y%m%dT%H%M%S%f"


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: the write context's clock must be timezone-aware")
    return moment.astimezone(UTC)


def rfc3339(moment: datetime) -> str:
    """`2026-01-01T00:00:00.000000Z`: fixed width, so strings sort like the instants they name."""
    return _utc(moment).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def file_stamp(moment: datetime) -> str:
    """`20260101T000000000000`, the stamp in snapshot and overlay part names."""
    return _utc(moment).strftime(FILE_STAMP_FORMAT)


def parse_rfc3339(text: str) -> datetime:
    """Inverse of `rfc3339`, tolerant of other offsets; raises ValueError on anything naive or malformed."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return _utc(moment)
