"""Footer-first checking: column chunks decoded as their bytes land; the verdict of a whole-file decode."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.parquet_layout import column_chunk_end, row_group_ends
from usr_harness.dataset.parquet_io import footer_metadata
from usr_harness.errors import VerifyError
from usr_harness.sync.move.arriving_parquet import ArrivingParquet
from usr_harness.sync.move.receive import ReceivingStage

ROW_GROUPS = 8


COLUMNS = 2


def write_file(path: Path, note: str = "a", row_groups: int = ROW_GROUPS) -> bytes:
    rows = 400
    table = pa.table({"id": [f"id-{i}" for i in range(rows)], "n": list(range(rows))})
    table = table.replace_schema_metadata({"note": note})
    pq.write_table(
        table, path, row_group_size=rows // row_groups, write_page_checksum=True, compression="zstd"
    )
    return path.read_bytes()


def flip_last_page_byte(data: bytearray, metadata: pq.FileMetaData, row_group: int, column: int) -> None:
    """The last byte of a column chunk lies inside its last data page, which the page checksum covers."""
    data[column_chunk_end(metadata, row_group, column) - 1] ^= 0x01


def tail_of(data: bytes) -> bytes:
    return data[-(int.from_bytes(data[-8:-4], "little") + 8) :]


def stream(data: bytes, staged: Path, arriving: ArrivingParquet, block: int = 97) -> list[int]:
    """Write the file block by block as the receiver does, running the work handed out; returns
    how many bytes were staged when each column chunk was handed out."""
    handed_out = []
    with open(staged, "wb", buffering=0) as handle:
        for start in range(0, len(data), block):
            handle.write(data[start : start + block])
            for work in arriving.ready(start + len(data[start : start + block])):
                handed_out.append(handle.tell())
                work()
    return handed_out


def test_row_groups_are_decoded_before_the_file_is_whole(tmp_path: Path) -> None:
    data = write_file(tmp_path / "source.parquet")
    staged = tmp_path / "staged.parquet"
    arriving = ArrivingParquet(staged, tail_of(data))
    handed_out = stream(data, staged, arriving)
    arriving.finish()
    assert len(handed_out) == ROW_GROUPS * COLUMNS
    assert handed_out[0] < len(data) // 2
    assert row_group_ends(footer_metadata(tail_of(data), staged)) == sorted(row_group_ends(arriving.metadata))


def test_the_columns_of_a_single_row_group_are_decoded_as_each_lands(tmp_path: Path) -> None:
    data = write_file(tmp_path / "source.parquet", row_groups=1)
    staged = tmp_path / "staged.parquet"
    arriving = ArrivingParquet(staged, tail_of(data))
    handed_out = stream(data, staged, arriving)
    arriving.finish()
    assert len(handed_out) == COLUMNS
    assert handed_out[0] < handed_out[1] <= len(data) - len(tail_of(data)) + 97


def test_a_flipped_byte_in_the_first_column_of_a_single_row_group_fails_before_the_file_is_whole(
    tmp_path: Path,
) -> None:
    data = bytearray(write_file(tmp_path / "source.parquet", row_groups=1))
    metadata = pq.read_metadata(tmp_path / "source.parquet")
    flip_last_page_byte(data, metadata, 0, 0)
    staged = tmp_path / "staged.parquet"
    arriving = ArrivingParquet(staged, tail_of(bytes(data)))
    cut = column_chunk_end(metadata, 0, 0) + 97
    with pytest.raises(VerifyError, match="not a readable parquet file"):
        stream(bytes(data[:cut]), staged, arriving)


def test_a_flipped_page_byte_fails_its_row_group(tmp_path: Path) -> None:
    data = bytearray(write_file(tmp_path / "source.parquet"))
    flip_last_page_byte(data, pq.read_metadata(tmp_path / "source.parquet"), 3, 0)
    staged = tmp_path / "staged.parquet"
    arriving = ArrivingParquet(staged, tail_of(bytes(data)))
    with pytest.raises(VerifyError, match="not a readable parquet file"):
        stream(bytes(data), staged, arriving)


def test_a_footer_that_is_not_the_files_own_is_refused(tmp_path: Path) -> None:
    data = write_file(tmp_path / "source.parquet")
    other = write_file(tmp_path / "other.parquet", note="b")
    assert len(other) == len(data) and tail_of(other) != tail_of(data)
    staged = tmp_path / "staged.parquet"
    arriving = ArrivingParquet(staged, tail_of(other))
    stream(data, staged, arriving)
    with pytest.raises(VerifyError, match="not the one sent ahead"):
        arriving.finish()


def test_a_file_cut_short_leaves_row_groups_undecoded_and_is_refused(tmp_path: Path) -> None:
    data = write_file(tmp_path / "source.parquet")
    staged = tmp_path / "staged.parquet"
    arriving = ArrivingParquet(staged, tail_of(data))
    stream(data[: len(data) // 2], staged, arriving)
    with pytest.raises(VerifyError, match="ends past the end of the file"):
        arriving.finish()


def test_a_footer_that_does_not_parse_is_refused_up_front(tmp_path: Path) -> None:
    with pytest.raises(VerifyError):
        ArrivingParquet(tmp_path / "staged.parquet", b"garbage!" + b"\x04\x00\x00\x00PAR1")


def test_the_receiving_stage_checks_a_footer_first_file_as_it_arrives(tmp_path: Path) -> None:
    data = bytearray(write_file(tmp_path / "source.parquet"))
    flip_last_page_byte(data, pq.read_metadata(tmp_path / "source.parquet"), 5, 1)
    stage = tmp_path / "stage"
    stage.mkdir()
    checked: list[str] = []
    with ReceivingStage(str(stage), checked.append, on_file=lambda: None) as receiving:
        receiving.footer("records.parquet", tail_of(bytes(data)))
        receiving.sink(
            "records.parquet", len(data), iter([bytes(data[i : i + 100]) for i in range(0, len(data), 100)])
        )
        receiving.footer("_snapshots/bad.parquet", b"not a footer")
        receiving.sink("_snapshots/bad.parquet", 3, iter([b"abc"]))
        failures = receiving.failures()
    assert list(failures) == ["records.parquet"]
    assert isinstance(failures["records.parquet"], VerifyError)
    assert checked == ["_snapshots/bad.parquet"]
