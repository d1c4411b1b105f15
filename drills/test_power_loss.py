"""Power loss during a pull or a push: the dataset is the old or the new version whole, whatever is kept.

A killed process loses nothing it wrote (the kernel writes its page cache back); a machine that loses
power keeps only what was fsynced, file by file and directory by directory. The side being written sits
on the power-cut layer (`usr_harness/powercut`, docs/powercut.md): the laptop's datasets root for a pull,
the remote's (served by the drill's sshd) for a push. The layer logs every write, rename and fsync of the
recorded sync; then, for each distinct state a cut after the k-th logged operation can leave (strict
POSIX, or names ahead of data), the cut is applied in place, as a reboot would leave the disk, and:

- after the engine's recovery (`usr recover` for a pull with the harness dataset layer; for a push the
  next command, `usr diff`, whose remote agent recovers a pending promotion), the dataset is the old
  version or the new one, whole;
- the base manifest (`.usr-sync/<remote>/<dataset>.json`, on the laptop) describes the dataset's files,
  or is still the one from before the sync (a sync not yet recorded, which the next sync repairs);
- a cut right after the sync returned success leaves the new version: what the engine reported as done
  is on disk;
- the next sync succeeds and leaves the new version on both sides.

A push cut models the remote losing power while the laptop keeps running: before the last cut point the
push cannot have reported success, so the laptop's `.usr-sync` is put back as it was before the push;
after it, as the push left it.

The recorded run moves several rounds (`ROUNDS`) so that it has more than 100 cut points; each distinct
state is checked up to `MAX_STATES`, a seeded sample of them beyond (`USR_POWERCUT_FULL=1` checks them
all; `USR_POWERCUT_STATES=N` a sample of N). A failed check names the cut point, the operations
before it and the command that reproduces it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from usr_harness.engines import Engine
from usr_harness.mock.series import BatchSeries
from usr_harness.powercut import FuseUnavailable, Policy, PowerCutMount
from usr_harness.powercut.sweep import CutRange, coverage, cut_ranges, failure_message, sample_ranges
from usr_harness.pytest_plugin import make_drill_engine, reproduce_of
from usr_harness.report.fingerprint import TreeFingerprint, compare, fingerprint_tree

from .conftest import DATASET, REMOTE, Sync

pytestmark = [pytest.mark.drill, pytest.mark.ssh, pytest.mark.fault]

BASE = f".usr-sync/{REMOTE}/{DATASET}.json"
ROUNDS = 8
"""Rounds the recorded sync moves: at the small scale more than 100 logged operations each way."""
MAX_STATES = 40
"""Distinct cut states checked per run; past it a seeded sample (the last state always in it)."""
FULL_SWEEP = "USR_POWERCUT_FULL"
"""Set to 1 to check every distinct state of the recorded run (the full sweep on demand)."""
STATES = "USR_POWERCUT_STATES"
"""Set to N to check a seeded sample of N states instead (an engine that takes half a minute a sync)."""


def _limit() -> int | None:
    if os.environ.get(STATES):
        return max(2, int(os.environ[STATES]))
    return None if os.environ.get(FULL_SWEEP) == "1" else MAX_STATES


def _base_files(local_root: Path) -> dict[str, dict] | None:
    path = local_root / BASE
    return json.loads(path.read_bytes())["files"] if path.exists() else None


def _describes(base: dict[str, dict], dataset: Path) -> bool:
    """Every file the base names has its size and sha256, and the base names every file there is."""
    prints = fingerprint_tree(dataset)
    regular = {entry.path for entry in prints.entries if entry.type == "file"}
    if set(base) != regular:
        return False
    for name, entry in base.items():
        data = (dataset / name).read_bytes()
        if len(data) != entry["size"] or hashlib.sha256(data).hexdigest() != entry["sha256"]:
            return False
    return True


def _version(prints: TreeFingerprint, old: TreeFingerprint, new: TreeFingerprint) -> str:
    if prints.digest == new.digest:
        return "new"
    return "old" if prints.digest == old.digest else "torn"


def _message(result) -> str:
    return result.message.strip()[:400]


class CutChecker:
    """Cuts the recorded sync at one point under the live mount, and runs the checks there.

    `written`: the dataset on the side the layer holds; `old`: its fingerprint before the sync and the
    base before it; `new`: the version the sync brings.
    """

    def __init__(
        self,
        sync: Sync,
        engine: Engine,
        layer: PowerCutMount,
        direction: str,
        old: tuple[TreeFingerprint, dict | None],
        new: TreeFingerprint,
    ) -> None:
        self.sync, self.engine, self.layer, self.direction, self.new = sync, engine, layer, direction, new
        self.old, self.old_base = old
        self.written = (engine.root if direction == "pull" else sync.remote_root) / DATASET
        self.laptop_states: tuple[Path, Path] | None = None

    def keep_laptop_states(self, before: Path, after: Path) -> None:
        """A push: the laptop's `.usr-sync` before the push and after it, put back at each cut."""
        self.laptop_states = before, after

    def check(self, k: int, policy: Policy, *, final: bool) -> str | None:
        """`final`: the cut right after the sync returned success, so the new version must be there."""
        self.layer.cut_in_place(k, policy=policy)
        if self.laptop_states is not None:
            kept = self.laptop_states[1 if final else 0]
            laptop = self.engine.root / ".usr-sync"
            shutil.rmtree(laptop, ignore_errors=True)
            shutil.copytree(kept, laptop, symlinks=True)
        return self._checks(final)

    def _recover(self) -> str | None:
        if self.direction == "push":
            recovered = self.engine.diff(DATASET, REMOTE)
            return None if recovered.ok else f"the next command (diff) failed: {_message(recovered)}"
        if self.sync.has("harness-dataset-layer"):
            recovered = self.engine.run("recover", DATASET)
            return None if recovered.ok else f"recover failed: {_message(recovered)}"
        return None

    def _checks(self, final: bool) -> str | None:
        problem = self._recover()
        if problem is not None:
            return problem
        version = _version(fingerprint_tree(self.written), self.old, self.new)
        if final and version != "new":
            return (
                f"the {self.direction} reported success, yet a power cut right after it leaves the "
                f"{version} version"
            )
        recovers = self.direction == "push" or self.sync.has("harness-dataset-layer")
        if recovers and version == "torn":
            torn = compare(self.new, fingerprint_tree(self.written)).as_dict()
            return f"dataset is neither the old nor the new version after the recovery: {torn}"
        base = _base_files(self.engine.root)
        if recovers and base is not None and base != self.old_base and not _describes(base, self.written):
            return f"base manifest describes other files than the {version} dataset it was made for"
        again = self.engine.pull if self.direction == "pull" else self.engine.push
        synced = again(DATASET, REMOTE)
        if not synced.ok:
            return f"the next {self.direction} failed: {_message(synced)}"
        if fingerprint_tree(self.written).digest != self.new.digest:
            return f"the next {self.direction} did not leave the new version"
        base = _base_files(self.engine.root)
        if self.old_base is not None and (base is None or not _describes(base, self.written)):
            return f"after the next {self.direction} the base manifest does not describe the dataset"
        return None


def _start(layer: PowerCutMount, sync: Sync) -> None:
    try:
        layer.start()
    except FuseUnavailable as error:
        sync.record.add_evidence("unknown_because", error.reason)
        pytest.skip(f"unknown: {error}")


def _sweep(
    request: pytest.FixtureRequest,
    sync: Sync,
    layer: PowerCutMount,
    policy: Policy,
    run: Callable[[], object],
    checker: Callable[[], CutChecker],
) -> None:
    """Record one sync on the mounted layer, check the sample of its cut states, fail with the first."""
    started = time.monotonic()
    try:
        run()
        ops = layer.operations()
        recorded = time.monotonic() - started
        checks = checker()
        checked = sample_ranges(cut_ranges(layer.initial, ops, policy), _limit(), sync.record.seed)
        for cut in checked:
            cut.problem = checks.check(cut.first_k, policy, final=cut is checked[-1])
    finally:
        layer.stop()
    failed: list[CutRange] = [cut for cut in checked if cut.problem is not None]
    sync.record.add_evidence(
        "power_loss",
        {
            "policy": str(policy),
            "direction": checks.direction,
            **coverage(checked, len(ops)),
            "operations": [op.describe() for op in ops],
            "cuts": [cut.as_dict() for cut in checked],
            "record_seconds": round(recorded, 2),
            "sweep_seconds": round(time.monotonic() - started - recorded, 2),
        },
    )
    if failed:
        reproduce = reproduce_of(request.config, request.node.nodeid)
        pytest.fail(failure_message(policy, ops, failed, reproduce))


@pytest.mark.timeout(1800)  # an engine that takes seconds per pull: up to MAX_STATES pulls
@pytest.mark.parametrize("policy", list(Policy), ids=str)
def test_a_pull_cut_by_power_loss_at_any_point_leaves_old_or_new_whole(
    sync: Sync, request: pytest.FixtureRequest, tmp_path: Path, policy: Policy
) -> None:
    sync.hpc_rounds(0, 1)
    assert sync.pull().ok
    old = fingerprint_tree(sync.local), _base_files(sync.local_root)
    sync.hpc_rounds(1, ROUNDS)
    new = fingerprint_tree(sync.hpc)
    layer = PowerCutMount(sync.local_root, tmp_path / "powercut-mnt", tmp_path / "powercut-log")
    _start(layer, sync)
    on_layer = make_drill_engine(request.config, layer.mountpoint, sync.remote, tmp_path / "engine-layer")

    def pull() -> None:
        pulled = on_layer.pull(DATASET, REMOTE)
        assert pulled.ok, pulled.message

    _sweep(request, sync, layer, policy, pull, lambda: CutChecker(sync, on_layer, layer, "pull", old, new))


@pytest.mark.timeout(1800)
@pytest.mark.parametrize("policy", list(Policy), ids=str)
def test_a_push_cut_by_power_loss_on_the_remote_leaves_old_or_new_whole(
    sync: Sync, request: pytest.FixtureRequest, tmp_path: Path, policy: Policy
) -> None:
    sync.hpc_rounds(0, 1)
    assert sync.pull().ok
    old = fingerprint_tree(sync.hpc), _base_files(sync.local_root)
    BatchSeries(sync.record.seed + 1, records_per_round=sync.rows_per_round).run(
        sync.local_root, DATASET, ROUNDS, first=1
    )
    new = fingerprint_tree(sync.local)
    laptop_before = tmp_path / "laptop-usr-sync-before"
    shutil.copytree(sync.local_root / ".usr-sync", laptop_before, symlinks=True)
    # The remote's datasets root moves aside as the layer's backing; the layer is mounted where the
    # sshd's engine finds it (same user: the agent sees the mount).
    backing = tmp_path / "remote-backing"
    shutil.move(sync.remote_root, backing)
    sync.remote_root.mkdir()
    layer = PowerCutMount(backing, sync.remote_root, tmp_path / "powercut-log")
    _start(layer, sync)
    checker = CutChecker(sync, sync.engine, layer, "push", old, new)

    def push() -> None:
        pushed = sync.engine.push(DATASET, REMOTE)
        assert pushed.ok, pushed.message
        shutil.copytree(sync.local_root / ".usr-sync", tmp_path / "laptop-usr-sync-after", symlinks=True)
        checker.keep_laptop_states(laptop_before, tmp_path / "laptop-usr-sync-after")

    _sweep(request, sync, layer, policy, push, lambda: checker)
