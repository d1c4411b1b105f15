"""Where a parquet file's pieces end, for tests that damage a chosen page or cut a file short."""

from __future__ import annotations

import pyarrow.parquet as pq

from usr_harness.dataset.parquet_io import column_chunk_ends


def row_group_ends(metadata: pq.FileMetaData) -> list[int]:
    """Where each row group's last column chunk ends: its pages are all on disk once the file is that long."""
    ends = [0] * metadata.num_row_groups
    for end, row_group, _ in column_chunk_ends(metadata):
        ends[row_group] = max(ends[row_group], end)
    return ends


def column_chunk_end(metadata: pq.FileMetaData, row_group: int, column: int) -> int:
    """Where one column chunk's last byte lies: inside its last data page, which the page checksum covers."""
    return {(group, leaf): end for end, group, leaf in column_chunk_ends(metadata)}[(row_group, column)]
