"""The growth section's datasets: one shape, grown along bytes (extra `_artifacts/`) or files (parts).

Both axes share the (200 parts, no extra bytes) set. `small` scales everything down for a quick
look; the figures then only show the trend, not the targets' sizes.
"""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks.datasets import DatasetSpec

GIB = 1 << 30
MIB = 1 << 20
ROWS = 20_000


@dataclass(frozen=True)
class Axis:
    """One growth axis: a name, the unit its steps are labelled in, and the dataset at each step."""

    name: str
    steps: tuple[tuple[str, DatasetSpec], ...]


def growth_axes(small: bool = False) -> tuple[Axis, Axis]:
    """(bytes axis, files axis); `small` is the quick run's sizes."""
    if small:
        extra = (("0 B", 0), ("64 MiB", 64 * MIB), ("256 MiB", 256 * MIB))
        parts = (20, 200, 1_000)
        base_parts, rows = 20, 2_000
    else:
        extra = (("0 B", 0), ("1 GiB", GIB), ("4 GiB", 4 * GIB))
        parts = (200, 2_000, 20_000)
        base_parts, rows = 200, ROWS
    by_bytes = tuple((label, _spec(rows, base_parts, blob_bytes=size)) for label, size in extra)
    by_files = tuple(
        (
            f"{count:,} parts",
            DatasetSpec("growth", rows=rows, parts=base_parts, bulk_parts=count - base_parts),
        )
        for count in parts
    )
    return Axis("bytes", by_bytes), Axis("files", by_files)


def _spec(rows: int, parts: int, bulk_parts: int = 0, blob_bytes: int = 0) -> DatasetSpec:
    return DatasetSpec("growth", rows=rows, parts=parts, bulk_parts=bulk_parts, blob_bytes=blob_bytes)
