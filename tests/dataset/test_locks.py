"""`.usr.lock` / `.events.lock`: exclusive and shared flocks with a bounded wait naming the holder."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.dataset.helpers import make_rows, tree_digest
from usr_harness.dataset import Dataset
from usr_harness.dataset.context import seeded_context
from usr_harness.dataset.layout import DATASET_LOCK, EVENTS_LOCK
from usr_harness.dataset.locks import dataset_lock, events_lock
from usr_harness.errors import LockError


def test_exclusive_lock_records_its_holder_and_blocks_a_second_taker(tmp_path: Path) -> None:
    with dataset_lock(tmp_path, ctx=seeded_context(1)):
        assert (tmp_path / DATASET_LOCK).read_text() == "host=mock-host pid=0\n"
        started = time.monotonic()
        with (
            pytest.raises(LockError, match=r"held by host=mock-host pid=0; gave up after 0\.2 s"),
            dataset_lock(tmp_path, timeout=0.2),
        ):
            pass
        assert time.monotonic() - started >= 0.2
    with dataset_lock(tmp_path, timeout=0.2):
        pass
    assert (tmp_path / DATASET_LOCK).exists(), "lock files are never deleted"


def test_shared_locks_coexist_and_exclude_a_writer(tmp_path: Path) -> None:
    with (
        events_lock(tmp_path, exclusive=False),
        events_lock(tmp_path, exclusive=False),
        pytest.raises(LockError, match=EVENTS_LOCK),
        events_lock(tmp_path, timeout=0.05),
    ):
        pass
    with events_lock(tmp_path, timeout=0.05):
        pass


def test_missing_folder_is_a_lock_error(tmp_path: Path) -> None:
    with pytest.raises(LockError, match="does not exist"), dataset_lock(tmp_path / "nope"):
        pass


HOLDER = """
import sys, time
from pathlib import Path
from usr_harness.dataset.locks import dataset_lock
with dataset_lock(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(30)
"""


def test_a_mutation_waits_for_another_process_then_fails_naming_it(root: Path) -> None:
    dataset = Dataset.init(root, "demo", ctx=seeded_context(1), lock_timeout=0.3)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(dataset.path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        before = tree_digest(dataset.path)
        with pytest.raises(LockError, match=f"pid={holder.pid}"):
            dataset.import_rows(make_rows(3))
        assert tree_digest(dataset.path) == before
    finally:
        holder.kill()
        holder.wait()
    assert dataset.import_rows(make_rows(3)) == 3
