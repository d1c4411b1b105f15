"""The everyday HPC loop on one dataset: diff, first / no-op / incremental pull, no-op push, push of a part.

Each engine run is followed by the rsync run that moves the same change between the mirror
copies, so both see the same page cache and the same machine load, and their ratio is fair.
The audit of every engine run is checked: a "no-op" that moved files would be a false figure.
"""

from __future__ import annotations

import dataclasses
import shutil
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from benchmarks.breakdown import rsync_phases
from benchmarks.datasets import PART_ROWS, BuiltDataset, overlay_part
from benchmarks.measure import BenchError, Run
from benchmarks.references import rsync_argv
from benchmarks.workspace import USR_BIN, Workspace, drop
from usr_harness.dataset import Dataset
from usr_harness.dataset.context import seeded_context
from usr_harness.mock.seeding import derive_rng, derive_seed
from usr_harness.mock.series import BatchSeries

Series = dict[str, list[Run]]
FIRST_ROUND = 1_000
"""Remote batches in the benchmark start here, far from any round used to build the dataset."""
ROUND_SNAPSHOT_EVERY = 10_000
"""No benchmark round snapshots, so every incremental pull moves a batch of the same shape."""
PUSH_NAMESPACE = "densegen_v2"
PYTHON3 = sys.executable
"""The interpreter and site `usr` runs on (a `python3` on PATH may be a shell shim or another site)."""


def measure_loop(ws: Workspace, built: BuiltDataset, repeats: int) -> Series:
    """Runs of `usr.<step>` and its reference `rsync.<step>`, `repeats` of each."""
    ws.place(built)
    name = built.spec.name
    series: Series = defaultdict(list)
    _first_pulls(ws, name, repeats, series)
    _no_ops(ws, name, repeats, series)
    _part_pushes(ws, built, repeats, series)
    _incremental_pulls(ws, built, repeats, series)
    return dict(series)


def _rsync_pull(ws: Workspace, name: str, *, checksum: bool = False) -> Run:
    source = ws.remote_path(ws.remote_root, name)
    return _with_stats(
        ws, rsync_argv(ws.target, source, f"{ws.mirror_local / name}/", checksum=checksum, stats=True)
    )


def _rsync_push(ws: Workspace, name: str) -> Run:
    target = ws.remote_path(ws.mirror_remote, name)
    return _with_stats(ws, rsync_argv(ws.target, f"{ws.mirror_local / name}/", target, stats=True))


def _with_stats(ws: Workspace, argv: list[str]) -> Run:
    """One rsync run with its `--stats` phases kept beside its wall time."""
    run = ws.runner.run(argv)
    return dataclasses.replace(run, phases=rsync_phases(run.stdout, run.seconds))


def _startups(ws: Workspace, series: Series) -> None:
    """`usr --help`, `usr --version` and the bare interpreter, back to back (issue 31's start-up)."""
    series["startup"].append(ws.runner.run([str(USR_BIN), "--help"]))
    series["startup.version"].append(ws.runner.run([str(USR_BIN), "--version"]))
    series["startup.python"].append(ws.runner.run([PYTHON3, "-c", "pass"]))


def _first_pulls(ws: Workspace, name: str, repeats: int, series: Series) -> None:
    for _ in range(repeats):
        ws.forget_local(name)
        series["usr.first_pull"].append(ws.usr("pull", name, expect="TRANSFERRED")[0])
        drop(ws.mirror_local / name)
        series["rsync.first_pull"].append(_rsync_pull(ws, name))


def _no_ops(ws: Workspace, name: str, repeats: int, series: Series) -> None:
    """Identical sides: diff against rsync --checksum (both hash everything), no-ops against rsync -a."""
    for _ in range(repeats):
        run, audit = ws.usr("diff", name, expect="DIFF-ONLY")
        if not audit["up_to_date"]:
            raise BenchError(f"usr diff {name}: sides should be identical after a pull")
        series["usr.diff"].append(run)
        _startups(ws, series)
        series["rsync.checksum_noop"].append(_rsync_pull(ws, name, checksum=True))
    for _ in range(repeats):
        series["usr.noop_pull"].append(ws.usr("pull", name, expect="NO-OP")[0])
        series["rsync.noop_pull"].append(_rsync_pull(ws, name))
    for _ in range(repeats):
        series["usr.noop_push"].append(ws.usr("push", name, expect="NO-OP")[0])
        series["rsync.noop_push"].append(_rsync_push(ws, name))


def _part_pushes(ws: Workspace, built: BuiltDataset, repeats: int, series: Series) -> None:
    """A laptop attaches one overlay part, then pushes; rsync pushes the very files the engine copied."""
    name = built.spec.name
    for index in range(repeats):
        attach_part(ws.local_root, built, "push", index)
        run, audit = ws.usr("push", name, expect="TRANSFERRED")
        series["usr.push_part"].append(run)
        for rel in audit["plan"]["copy"]:
            target = ws.mirror_local / name / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ws.local_root / name / rel, target)
        series["rsync.push_part"].append(_rsync_push(ws, name))


def attach_part(root: Path, built: BuiltDataset, label: str, index: int) -> None:
    """The laptop's step before a push: one overlay part, seeded by `label` and `index`, attached."""
    name = built.spec.name
    ids = Dataset.open(root, name).read_records().column("id").combine_chunks()
    seed = derive_seed(built.spec.seed, label, index)
    picks = derive_rng(seed, "keys").choice(len(ids), size=min(PART_ROWS, len(ids)), replace=False)
    part = overlay_part(seed, PUSH_NAMESPACE, ids.take(np.sort(picks)))
    Dataset.open(root, name, ctx=seeded_context(seed)).attach(part, namespace=PUSH_NAMESPACE)


def _incremental_pulls(ws: Workspace, built: BuiltDataset, repeats: int, series: Series) -> None:
    """The HPC job appends one batch on the remote, then the laptop pulls it (rsync pulls it too)."""
    name = built.spec.name
    _rsync_pull(ws, name)
    job = BatchSeries(
        built.spec.seed,
        records_per_round=max(built.spec.rows // 200, 1),
        snapshot_every=ROUND_SNAPSHOT_EVERY,
    )
    for index in range(repeats):
        job.apply_round(ws.remote_root, name, FIRST_ROUND + index)
        series["usr.incremental_pull"].append(ws.usr("pull", name, expect="TRANSFERRED")[0])
        series["rsync.incremental_pull"].append(_rsync_pull(ws, name))
