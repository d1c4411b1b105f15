"""Check a large staged parquet file row group by row group while its bytes are still arriving.

The agent sends the file's footer ahead of its bytes, so the receiver knows where
every row group ends; each one is decoded with page checksums as soon as its last
byte is staged, beside the network receive instead of after it (a 1 GiB primary
spent 1.7 s decoding after its last byte landed). `finish` then proves the footer
that was used is the staged file's own, so the result is the same as decoding the
finished file.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path

from usr_harness.dataset.parquet_io import decode_row_group, footer_metadata, row_group_ends
from usr_harness.errors import VerifyError


class ArrivingParquet:
    def __init__(self, path: Path, footer: bytes) -> None:
        self.path = Path(path)
        self.footer = footer
        self.metadata = footer_metadata(footer, self.path)
        self._ends = row_group_ends(self.metadata)
        self._handed_out = 0

    def ready(self, staged_bytes: int) -> list[Callable[[], None]]:
        """Decoding work for the row groups whose bytes are all staged now (each handed out once)."""
        work = []
        while self._handed_out < len(self._ends) and self._ends[self._handed_out] <= staged_bytes:
            work.append(functools.partial(decode_row_group, self.path, self.metadata, self._handed_out))
            self._handed_out += 1
        return work

    def finish(self) -> None:
        """Once the file is whole: every row group was in it, and its tail is the footer decoded with."""
        if self._handed_out < len(self._ends):
            raise self._damaged(f"row group {self._handed_out} ends past the end of the file")
        declared = sum(self.metadata.row_group(index).num_rows for index in range(len(self._ends)))
        if declared != self.metadata.num_rows:
            raise self._damaged(f"footer declares {self.metadata.num_rows} rows, its row groups {declared}")
        size = os.path.getsize(self.path)
        with open(self.path, "rb") as handle:
            handle.seek(max(0, size - len(self.footer)))
            if handle.read() != self.footer:
                raise self._damaged("its footer is not the one sent ahead of it")

    def _damaged(self, reason: str) -> VerifyError:
        return VerifyError(f"{self.path}: not a readable parquet file ({reason})", paths=[str(self.path)])
