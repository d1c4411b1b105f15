"""File mode keeps the dataset rule: a target file changed since the last sync is never overwritten.

One parquet file synced by path (`usr pull FILE REMOTE --remote-path PATH`), then both the
laptop's copy and the remote's change: the next pull must refuse (`diverged`) and leave
both files as they were.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from usr_harness.engines import EngineResult

from .conftest import REMOTE, Sync

pytestmark = [pytest.mark.drill, pytest.mark.ssh, pytest.mark.enforces("H-nothing-lost")]


def _write(path: Path, rows: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.table({"id": [f"r{i}" for i in range(rows)], "score": [float(i) for i in range(rows)]})
    pq.write_table(table, path, write_page_checksum=True)


def _file_sync(sync: Sync, action: str, local: Path, remote: Path) -> EngineResult:
    argv = (action, str(local), REMOTE, "--remote-path", str(remote), "-y")
    return sync.call(f"{action}-{len(sync.record.evidence)}", lambda: sync.engine.run(*argv, audit=True))


def test_a_file_changed_on_both_sides_is_not_overwritten(sync: Sync, tmp_path: Path):
    sync.require("file-mode", "remote-path")
    remote = sync.remote_root / "runs" / "run42" / "records.parquet"
    local = tmp_path / "laptop" / "run42" / "records.parquet"
    _write(remote, 8)
    assert _file_sync(sync, "pull", local, remote).ok
    assert local.read_bytes() == remote.read_bytes()
    _write(local, 9)
    _write(remote, 10)
    before = (local.read_bytes(), remote.read_bytes())
    refused = _file_sync(sync, "pull", local, remote)
    assert sync.refused(refused, "diverged"), refused.message
    assert (local.read_bytes(), remote.read_bytes()) == before, "a refused file pull changed a side"
