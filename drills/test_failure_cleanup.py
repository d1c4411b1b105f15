"""A pull or push that fails at any stage leaves nothing behind, on either side, right after the failure.

The pull fails while staging (fault points after the preflight, mid-transfer, after
staging), in verification (a remote file changes between the manifest and the transfer:
records.parquet grown or one page byte flipped, a digit of the log's last line changed, or a
page flipped under `--verify size`, where only the page checksums can tell), or in
promotion. Right after the failed command, before any rerun could tidy up: no staging folder
or other new path in either datasets root (the engine's own state folder `.usr-sync/` and lock
files aside), no lock still held on either side, and no partial file: each dataset is byte for
byte as it was. A failure inside a committed promotion may leave the journal and its stage for
the next writer to roll forward (the crash-safety rule), but no file neither old nor new. Then,
where the remote is sound, a clean rerun lands whole and leaves no stage or journal. A push
failing at its fault points is held to the same rule, the remote stage included.
"""

from __future__ import annotations

import fcntl
import os
import random
import signal
import time
from pathlib import Path

import pytest

from usr_harness.corrupt.parquet_bytes import page_data_offset
from usr_harness.faults.points import armed_env
from usr_harness.hosts.processes import process_state
from usr_harness.report.fingerprint import compare, fingerprint_tree

from .conftest import DATASET, REMOTE, Sync

pytestmark = [
    pytest.mark.drill,
    pytest.mark.ssh,
    pytest.mark.fault,
    pytest.mark.enforces("H-failure-changes-nothing"),
]

STATE_FOLDER = ".usr-sync"
PRIMARY = "records.parquet"


def _grow(path: Path, seed: int) -> None:
    with open(path, "ab") as handle:
        handle.write(b"\0" * 64)


def _flip_page_byte(path: Path, seed: int) -> None:
    data = bytearray(path.read_bytes())
    offset = page_data_offset(bytes(data), random.Random(seed))
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def _flip_last_digit(path: Path, seed: int) -> None:
    """One digit of the log's last line changes: still valid JSON lines, same size, other bytes."""
    data = bytearray(path.read_bytes())
    index = max(i for i, byte in enumerate(data) if chr(byte).isdigit())
    data[index] = ord("1") if data[index] != ord("1") else ord("2")
    path.write_bytes(bytes(data))


EVENTS = ".events.log"
# case: (fault point spec, remote edit while the pull is held before staging, file edited, flags, families)
CASES = {
    "staging-after-preflight": ("after-preflight:raise", None, None, (), ("staging",)),
    "staging-mid-transfer": ("mid-transfer:raise", None, None, (), ("staging",)),
    "staging-after-staging": ("after-staging:raise", None, None, (), ("staging",)),
    "verify-size": ("before-staging:stop", _grow, PRIMARY, (), ("verify",)),
    "verify-hash": ("before-staging:stop", _flip_page_byte, PRIMARY, (), ("verify",)),
    "verify-hash-log": (
        "before-staging:stop",
        _flip_last_digit,
        EVENTS,
        (),
        ("sidecars", "verify", "events"),
    ),
    "verify-checksum": (None, _flip_page_byte, PRIMARY, ("--verify", "size"), ("verify",)),
    "promotion": ("mid-promotion:raise", None, None, (), ("staging",)),
}


def _held_locks(dataset: Path) -> list[str]:
    """Lock files in `dataset` some process still holds (a non-blocking exclusive flock fails)."""
    held = []
    for lock in sorted(dataset.rglob("*.lock")):
        fd = os.open(lock, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            held.append(str(lock))
        finally:
            os.close(fd)
    return held


def _everything(root: Path):
    """Every entry, stages, journals and temporary files included (a lock's holder line aside)."""
    return fingerprint_tree(root, exclude_runtime=False)


def _left_behind(before, after) -> list[str]:
    """Paths a failed command added, changed or removed in a datasets root: its state folder and
    lock files aside (locks are judged by whether they are still held)."""
    differences = compare(before, after)
    paths = [entry.path for entry in (*differences.added, *differences.removed)]
    paths += [change.path for change in differences.changed]
    return [p for p in paths if p.split("/", 1)[0] != STATE_FOLDER and not p.endswith(".lock")]


def _runtime_leftovers(root: Path) -> list[str]:
    """Stages, journals and temporary files anywhere under `root` (locks and the state folder aside)."""
    kept = fingerprint_tree(root).by_path
    return [
        path
        for path in _everything(root).by_path
        if path not in kept and path.split("/", 1)[0] != STATE_FOLDER and not path.endswith(".lock")
    ]


def _torn_files(local: Path, old, new) -> list[str]:
    """Dataset files whose bytes are neither the old local ones nor the remote's new ones."""
    old, new = old.by_path, new.by_path
    return [
        path
        for path, entry in fingerprint_tree(local).by_path.items()
        if entry.blake3 is not None
        and entry.blake3 not in {e.blake3 for e in (old.get(path), new.get(path)) if e is not None}
    ]


def _pull_edited_midway(sync: Sync, spec: str, edit, rel: str, flags: tuple[str, ...]):
    """Hold the pull before staging (its plan made), edit the remote primary, let it go on; returns
    the result and the remote root as the pull then found it."""
    running = sync.engine.start("pull", DATASET, REMOTE, "-y", *flags, audit=True, env=armed_env(spec))
    end = time.monotonic() + 60
    while process_state(running.pid) != "T":
        if running.process.poll() is not None or time.monotonic() > end:
            pytest.fail(f"the pull never stopped before staging: {running.finish().message}")
        time.sleep(0.02)
    try:
        edit(sync.hpc / rel, sync.record.seed)
        remote_before = _everything(sync.remote_root)
    finally:
        os.kill(running.pid, signal.SIGCONT)
    result = running.finish()
    sync.record.add_evidence("failed-pull", result.evidence())
    return result, remote_before


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_a_failed_pull_leaves_no_stage_lock_or_partial_file(sync: Sync, case: str):
    spec, edit, rel, flags, families = CASES[case]
    if spec is not None:
        sync.require("fault-points")
    sync.hpc_rounds(0, 1)
    assert sync.pull().ok
    sync.hpc_rounds(1, 1)
    if spec is None:
        edit(sync.hpc / rel, sync.record.seed)
    local_before, old, new = (
        _everything(sync.local_root),
        fingerprint_tree(sync.local),
        fingerprint_tree(sync.hpc),
    )
    remote_before = _everything(sync.remote_root)
    if spec is not None and edit is not None:
        failed, remote_before = _pull_edited_midway(sync, spec, edit, rel, flags)
    else:
        failed = sync.pull(*flags, env=None if spec is None else armed_env(spec))
    assert any(sync.refused(failed, family) for family in families), (
        f"the pull was not refused as {' or '.join(families)}: {failed.outcome()}"
    )
    _judge_right_after(
        sync,
        "pull",
        (sync.remote_root, remote_before),
        (sync.local, sync.local_root, local_before),
        promoting=case == "promotion",
        old=old,
        new=new,
    )
    if edit is not None:
        return  # the remote is corrupt: no clean pull can follow
    clean = sync.pull()
    assert clean.ok, clean.message
    leftovers = _runtime_leftovers(sync.local_root) + _runtime_leftovers(sync.remote_root)
    assert not leftovers, f"stages or journals left after the clean pull: {leftovers}"


def _judge_right_after(sync: Sync, action: str, source, target, *, promoting: bool, old, new) -> None:
    """Right after a failed `action`: the source as it was, no lock held, and the target with no new
    path; a failure inside a committed promotion may leave its journal for the next writer (it rolls
    the promotion forward), but no file neither wholly old nor wholly new."""
    (source_root, source_before), (target_dataset, target_root, target_before) = source, target
    assert not _left_behind(source_before, _everything(source_root)), (
        f"the failed {action} changed its source"
    )
    held = _held_locks(sync.local) + _held_locks(sync.hpc)
    assert not held, f"locks still held right after the failed {action}: {held}"
    if promoting:
        torn = _torn_files(target_dataset, old, new)
        assert not torn, f"files neither old nor new right after a failed {action}'s promotion: {torn}"
    else:
        left = _left_behind(target_before, _everything(target_root))
        assert not left, f"the failed {action} left paths behind on its target: {left}"


PUSH_POINTS = ("after-preflight", "mid-transfer", "after-staging", "mid-promotion")


@pytest.mark.parametrize("point", PUSH_POINTS)
def test_a_failed_push_leaves_no_stage_lock_or_partial_file(sync: Sync, point: str):
    """The push's side of the same rule: the remote stage goes with the failure, not at the next writer."""
    sync.require("fault-points")
    sync.hpc_rounds(0, 1)
    assert sync.pull().ok
    sync.local_overlay()
    local_before, remote_before = _everything(sync.local_root), _everything(sync.remote_root)
    old, new = fingerprint_tree(sync.hpc), fingerprint_tree(sync.local)
    failed = sync.push(env=armed_env(f"{point}:raise"))
    assert sync.refused(failed, "staging"), f"the push was not refused as staging: {failed.outcome()}"
    _judge_right_after(
        sync,
        "push",
        (sync.local_root, local_before),
        (sync.hpc, sync.remote_root, remote_before),
        promoting=point == "mid-promotion",
        old=old,
        new=new,
    )
    clean = sync.push()
    assert clean.ok, clean.message
    leftovers = _runtime_leftovers(sync.local_root) + _runtime_leftovers(sync.remote_root)
    assert not leftovers, f"stages or journals left after the clean push: {leftovers}"
