"""A folder to a tree and back, and the op log's round trip (a torn last line is the layer dying mid-op)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from usr_harness.powercut import DIRECTORY, Op, OpKind, Symlink, read_log, restore, scan
from usr_harness.powercut.errors import PowerCutError
from usr_harness.powercut.ops import LOG_NAME, LogWriter


def test_scan_and_restore_round_trip_and_restore_removes_the_rest(tmp_path: Path) -> None:
    tree = {"d": DIRECTORY, "d/f": b"\0bytes", "d/e": DIRECTORY, "l": Symlink("d/f"), "z": b""}
    folder = tmp_path / "folder"
    (folder / "stale" / "deep").mkdir(parents=True)
    (folder / "old").write_bytes(b"old")
    restore(folder, tree)
    assert scan(folder) == tree


def test_scan_refuses_what_the_layer_cannot_model(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(PowerCutError, match="neither file, directory nor symlink"):
        scan(tmp_path)


def test_the_log_round_trips_ops_with_their_payloads(tmp_path: Path) -> None:
    ops = [
        Op(OpKind.CREATE, path="/f"),
        Op(OpKind.WRITE, path="/f", node=1, offset=0, data=b"abc"),
        Op(OpKind.WRITE, path="/f", node=1, offset=3, data=b"\xff" * 10),
        Op(OpKind.RENAME, path="/f", path2="/g"),
        Op(OpKind.FSYNC, path="/", node=0),
    ]
    writer = LogWriter(tmp_path)
    for op in ops:
        writer.append(op)
    writer.close()
    assert read_log(tmp_path) == ops
    assert [op.describe() for op in ops[1:4]] == ["write /f @0+3", "write /f @3+10", "rename /f -> /g"]


def test_a_torn_last_record_is_dropped_a_torn_middle_one_refused(tmp_path: Path) -> None:
    writer = LogWriter(tmp_path)
    writer.append(Op(OpKind.MKDIR, path="/d"))
    writer.close()
    log = tmp_path / LOG_NAME
    log.write_text(log.read_text() + '{"kind":"rmd')
    assert read_log(tmp_path) == [Op(OpKind.MKDIR, path="/d")]
    log.write_text('{"kind":"rmd\n' + log.read_text())
    with pytest.raises(PowerCutError, match="not a JSON record"):
        read_log(tmp_path)


def test_a_missing_log_is_a_named_error(tmp_path: Path) -> None:
    with pytest.raises(PowerCutError, match="no operation log"):
        read_log(tmp_path)
