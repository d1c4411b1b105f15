"""Power loss during a pull: whatever the machine keeps, the dataset is the old or the new version whole.

A killed process loses nothing it wrote (the kernel writes its page cache back); a machine that loses
power keeps only what was fsynced, file by file and directory by directory. The laptop's datasets root
sits on the power-cut layer (`usr_harness/powercut`, docs/powercut.md) while the engine pulls a new HPC
round; the layer logs every write, rename and fsync. Then, for every k, the state a cut after the k-th
logged operation leaves (strict POSIX: unsynced data and unsynced directory entries are lost) is put in
a fresh root, and there:

- after the engine's recovery (`usr recover`, for an engine with the harness dataset layer), the dataset
  is the old version or the new one, whole;
- the base manifest (`.usr-sync/<remote>/<dataset>.json`) describes the dataset's files, or is still the
  one from before the pull (a sync not yet recorded, which the next sync repairs); a base that describes
  the new version beside old files would make the next sync undo the pull;
- the next pull succeeds and leaves the new version;
- a cut right after the pull returned success leaves the new version: what the engine reported as done
  is on disk (checked with or without a recovery command).

Cut points between two syncs leave the same state: each distinct state is checked once, all of them up
to `MAX_STATES` (every state of the small scale), a seeded sample of them beyond. A failed check
names the cut point, the operations before it and the command that reproduces it. The checks run under
the same mount (the cut applied in place, as a reboot would leave the disk): the device number, and each
file's inode number and times as they were synced, are what the engine's promotion journal recorded.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from pathlib import Path

import pytest

from usr_harness.engines import Engine
from usr_harness.powercut import FuseUnavailable, Op, Policy, PowerCutMount, Tree, cut_states
from usr_harness.pytest_plugin import make_drill_engine, reproduce_of
from usr_harness.report.fingerprint import TreeFingerprint, compare, fingerprint_tree

from .conftest import DATASET, REMOTE, Sync

pytestmark = [pytest.mark.drill, pytest.mark.ssh, pytest.mark.fault]

BASE = f".usr-sync/{REMOTE}/{DATASET}.json"
MAX_STATES = 40
"""Distinct cut states checked in full; a larger scale checks a seeded sample of this many."""
SHOWN_OPS = 12
"""How many operations before a failing cut point the message lists (all are in the evidence)."""


def _base_files(root: Path) -> dict[str, dict] | None:
    path = root / BASE
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


class CutChecker:
    """Cuts the recorded pull at one point under the live mount, and runs the checks there."""

    def __init__(
        self,
        sync: Sync,
        engine: Engine,
        layer: PowerCutMount,
        old: tuple[TreeFingerprint, dict | None],
        new: TreeFingerprint,
    ) -> None:
        """`old`: the dataset's fingerprint and base manifest before the pull; `new`: the remote's dataset."""
        self.sync, self.engine, self.layer, self.new = sync, engine, layer, new
        self.old, self.old_base = old

    def check(self, k: int, policy: Policy, *, final: bool) -> str | None:
        """`final`: the cut right after the pull returned success, so the new version must be there."""
        self.layer.cut_in_place(k, policy=policy)
        return self._checks(self.engine.root / DATASET, final)

    def _checks(self, dataset: Path, final: bool) -> str | None:
        recovers = self.sync.has("harness-dataset-layer")
        if recovers:
            recovered = self.engine.run("recover", DATASET)
            if not recovered.ok:
                return f"recover failed: {recovered.message.strip()[:400]}"
        version = _version(fingerprint_tree(dataset), self.old, self.new)
        if final and version != "new":
            return f"the pull reported success, yet a power cut right after it leaves the {version} version"
        if recovers:
            if version == "torn":
                torn = compare(self.new, fingerprint_tree(dataset)).as_dict()
                return f"dataset is neither the old nor the new version after recover: {torn}"
            base = _base_files(self.engine.root)
            if base is not None and base != self.old_base and not _describes(base, dataset):
                return f"base manifest describes other files than the {version} dataset beside it"
        pulled = self.engine.pull(DATASET, REMOTE)
        if not pulled.ok:
            return f"the next pull failed: {pulled.message.strip()[:400]}"
        if fingerprint_tree(dataset).digest != self.new.digest:
            return "the next pull did not leave the new version"
        return None


def _failure(request: pytest.FixtureRequest, policy: Policy, ops: list[Op], failed: list[dict]) -> str:
    """The first failing cut in full (problem, operations before it, reproduce line), the others by k.

    A range of cut points leaves one state; it is named by its first point, or by its last for the state
    after the whole run (the cut right after the engine reported success).
    """
    first = failed[0]
    k = first["last_k"] if first["last_k"] == len(ops) else first["first_k"]
    same = (
        f" (the same state as cuts {first['first_k']}..{first['last_k']})"
        if first["first_k"] != first["last_k"]
        else ""
    )
    before = [f"  {index}: {op.describe()}" for index, op in enumerate(ops[:k], 1)][-SHOWN_OPS:]
    others = [f"{cut['first_k']}..{cut['last_k']}: {cut['problem'][:200]}" for cut in failed[1:]]
    return "\n".join(
        [
            f"power cut after operation {k} of {len(ops)}{same} ({policy}): {first['problem']}",
            f"last {len(before)} operations before the cut:",
            *before,
            *([f"{len(others)} more failing cut ranges:", *others] if others else []),
            f"reproduce: {reproduce_of(request.config, request.node.nodeid)}",
        ]
    )


@pytest.mark.timeout(1800)  # an engine that takes seconds per pull: up to MAX_STATES pulls
@pytest.mark.parametrize("policy", list(Policy), ids=str)
def test_a_pull_cut_by_power_loss_at_any_point_leaves_old_or_new_whole(
    sync: Sync, request: pytest.FixtureRequest, tmp_path: Path, policy: Policy
) -> None:
    sync.hpc_rounds(0, 1)
    assert sync.pull().ok
    old = fingerprint_tree(sync.local), _base_files(sync.local_root)
    sync.hpc_rounds(1, 1)
    new = fingerprint_tree(sync.hpc)

    started = time.monotonic()
    layer = PowerCutMount(sync.local_root, tmp_path / "powercut-mnt", tmp_path / "powercut-log")
    try:
        layer.start()
    except FuseUnavailable as error:
        sync.record.add_evidence("unknown_because", error.reason)
        pytest.skip(f"unknown: {error}")
    try:
        on_layer = make_drill_engine(request.config, layer.mountpoint, sync.remote, tmp_path / "engine-layer")
        pulled = on_layer.pull(DATASET, REMOTE)
        assert pulled.ok, pulled.message
        ops = layer.operations()
        recorded = time.monotonic() - started
        checker = CutChecker(sync, on_layer, layer, old, new)
        checked: list[dict] = []
        previous: Tree | None = None
        for k, tree in cut_states(layer.initial, ops, policy):
            if tree is previous:
                checked[-1]["last_k"] = k
                continue
            previous = tree
            checked.append({"first_k": k, "last_k": k, "problem": None})
        if len(checked) > MAX_STATES:  # the state after the whole pull always stays in the sample
            sample = random.Random(sync.record.seed).sample(checked[:-1], MAX_STATES - 1)
            checked = sorted(sample, key=lambda cut: cut["first_k"]) + checked[-1:]
        for cut in checked:
            cut["problem"] = checker.check(cut["first_k"], policy, final=cut is checked[-1])
    finally:
        layer.stop()
    failed = [cut for cut in checked if cut["problem"] is not None]
    sync.record.add_evidence(
        "power_loss",
        {
            "policy": str(policy),
            "operations": [op.describe() for op in ops],
            "cuts": checked,
            "record_seconds": round(recorded, 2),
            "sweep_seconds": round(time.monotonic() - started - recorded, 2),
        },
    )
    if failed:
        pytest.fail(_failure(request, policy, ops, failed))
