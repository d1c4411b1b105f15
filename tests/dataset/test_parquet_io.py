"""Parquet files of the layer: deterministic bytes, kv metadata, page checksums, atomic replacement."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from usr_harness.dataset import parquet_io
from usr_harness.dataset.layout import TEMP_PREFIX
from usr_harness.dataset.parquet_io import (
    decode_parquet,
    read_kv_metadata,
    read_parquet,
    verify_parquet,
    write_parquet,
)
from usr_harness.errors import VerifyError


def table(n: int = 50_000) -> pa.Table:
    return pa.table({"n": pa.array(range(n), pa.int64()), "s": [f"value-{i}" for i in range(n)]})


def test_same_table_gives_same_bytes_whatever_the_chunking(tmp_path: Path) -> None:
    whole = table()
    chunked = pa.concat_tables([whole.slice(0, 7), whole.slice(7)])
    write_parquet(whole, tmp_path / "a.parquet", metadata={"usr:k": "v"})
    write_parquet(chunked, tmp_path / "b.parquet", metadata={"usr:k": "v"})
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()


def test_metadata_is_merged_over_the_table_metadata(tmp_path: Path) -> None:
    source = table(3).replace_schema_metadata({"keep": "1", "usr:k": "old"})
    write_parquet(source, tmp_path / "t.parquet", metadata={"usr:k": "new"})
    assert read_kv_metadata(tmp_path / "t.parquet") == {"keep": "1", "usr:k": "new"}
    assert read_parquet(tmp_path / "t.parquet").equals(table(3))


@pytest.fixture(params=["read whole", "read from the file"])
def decode_route(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """decode_parquet reads a small file whole and decodes a large one from the file: both must refuse."""
    if request.param == "read from the file":
        monkeypatch.setattr(parquet_io, "IN_MEMORY_DECODE_BYTES", 0)


@pytest.mark.usefixtures("decode_route")
def test_pages_carry_checksums_and_a_flipped_byte_is_caught(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    write_parquet(table(), path)
    assert verify_parquet(path) == (50_000, 2)
    assert decode_parquet(path).equals(table())
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0xFF
    path.write_bytes(bytes(data))
    for reader in (verify_parquet, decode_parquet):
        with pytest.raises(VerifyError, match=str(path)):
            reader(path)
    with pytest.raises(VerifyError):
        read_parquet(path)


@pytest.mark.usefixtures("decode_route")
@pytest.mark.parametrize("cut", [0.5, 0.999])
def test_truncation_and_footer_damage_are_verify_errors(tmp_path: Path, cut: float) -> None:
    path = tmp_path / "t.parquet"
    write_parquet(table(), path)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * cut)])
    for reader in (verify_parquet, decode_parquet, read_kv_metadata, read_parquet):
        with pytest.raises(VerifyError, match="not a readable parquet file"):
            reader(path)


def test_not_parquet_and_missing_are_verify_errors(tmp_path: Path) -> None:
    (tmp_path / "x.parquet").write_text("id,score\n1,2\n")
    with pytest.raises(VerifyError):
        verify_parquet(tmp_path / "x.parquet")
    with pytest.raises(VerifyError):
        verify_parquet(tmp_path / "missing.parquet")


def test_writes_replace_atomically_and_leave_no_temp_file(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    write_parquet(table(3), path)
    write_parquet(table(5), path)
    assert pq.read_metadata(path).num_rows == 5
    assert [p.name for p in tmp_path.iterdir()] == ["t.parquet"]


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    write_parquet(table(3), path)
    before = path.read_bytes()
    required = pa.schema([pa.field("x", pa.int64(), nullable=False)])
    bad = pa.Table.from_arrays([pa.array([None], pa.int64())], schema=required)
    with pytest.raises(pa.ArrowException):
        write_parquet(bad, path)
    assert path.read_bytes() == before
    assert not any(p.name.startswith(TEMP_PREFIX) for p in tmp_path.iterdir())
