"""The growth section: what a no-op diff / pull / push costs as a dataset grows in bytes and in files.

At the largest step along files, a first pull (into an empty root) is measured too, beside
`rsync -a` into an empty folder: what bringing a 20,000-part dataset to a new laptop costs.

Each step's dataset is hard-linked into both engine sides and both rsync mirrors (nothing here
writes a file in place, so sharing inodes is safe and placing 4 GiB costs no copy), then left
past the racy window so a stat-trusting cache may trust it. Every command runs cold first
(both sides' hash caches removed: the cost of building them) and then warm; the audit's
`hash_cache` counters must say so (a warm run that read a file, or a cold one that read none,
stops the run instead of printing a false figure). The references are `rsync -a -n` (size +
mtime quick check) and `rsync -a -n --checksum` (reads every byte on both sides) over the same sshd.
"""

from __future__ import annotations

import os
import shutil
import time
from collections import defaultdict
from dataclasses import dataclass, field

from benchmarks.agent_memory import AgentPeak
from benchmarks.datasets import BuiltDataset, DatasetSpec
from benchmarks.figures import MEMORY_LIMIT_MB, megabytes, seconds
from benchmarks.growth_sets import Axis
from benchmarks.measure import BenchError, Run
from benchmarks.references import rsync_argv
from benchmarks.table import Figure, Target
from benchmarks.workspace import Workspace, drop
from usr_harness.dataset.layout import SYNC_STATE_DIR
from usr_harness.dataset.registry import registry_path
from usr_harness.sync.inventory.hash_cache import RACY_NS
from usr_harness.sync.inventory.hash_store import STORE_DIR

COMMANDS = (("diff", "DIFF-ONLY"), ("pull", "NO-OP"), ("push", "NO-OP"))
SETTLE_SECONDS = RACY_NS / 1e9 + 0.5
"""Linking moves every file's ctime: past this, the files are old enough to be trusted by stat."""


@dataclass
class StepRuns:
    """Runs of one dataset: `usr.<action>.<cold|warm>`, `rsync.quick`, `rsync.checksum`; agent peaks."""

    built: BuiltDataset
    runs: dict[str, list[Run]] = field(default_factory=lambda: defaultdict(list))
    agent_peaks: dict[str, list[int | None]] = field(default_factory=lambda: defaultdict(list))


def measure_step(
    ws: Workspace, built: BuiltDataset, repeats: int, cold_repeats: int, *, first_pulls: bool = False
) -> StepRuns:
    """Cold then warm runs of every command on one placed dataset, and the rsync references; then,
    with `first_pulls`, first pulls (the last thing done to this step: they replace the local copy)."""
    _place_linked(ws, built)
    time.sleep(SETTLE_SECONDS)
    step = StepRuns(built)
    name = built.spec.name
    for action, expect in COMMANDS:
        for _ in range(cold_repeats):
            _forget_caches(ws, name)
            _engine(ws, step, action, expect, warm=False)
        for _ in range(repeats):
            _engine(ws, step, action, expect, warm=True)
    for _ in range(repeats):
        for key, checksum in (("rsync.quick", False), ("rsync.checksum", True)):
            argv = rsync_argv(
                ws.target,
                ws.remote_path(ws.mirror_remote, name),
                f"{ws.mirror_local / name}/",
                checksum=checksum,
                dry_run=True,
            )
            step.runs[key].append(ws.runner.run(argv))
    if first_pulls:
        _first_pulls(ws, step, repeats)
    return step


def _first_pulls(ws: Workspace, step: StepRuns, repeats: int) -> None:
    """`usr pull` into a root without the dataset, each beside `rsync -a` into an empty folder."""
    name = step.built.spec.name
    for _ in range(repeats):
        ws.forget_local(name)
        step.runs["usr.pull.first"].append(ws.usr("pull", name, expect="TRANSFERRED")[0])
        drop(ws.mirror_local / name)
        argv = rsync_argv(ws.target, ws.remote_path(ws.mirror_remote, name), f"{ws.mirror_local / name}/")
        step.runs["rsync.fresh"].append(ws.runner.run(argv))


def _engine(ws: Workspace, step: StepRuns, action: str, expect: str, *, warm: bool) -> None:
    assert ws.sshd.pid is not None
    with AgentPeak(ws.sshd.pid) as watch:
        run, audit = ws.usr(action, step.built.spec.name, expect=expect)
    if action == "diff" and not audit["up_to_date"]:
        raise BenchError(f"usr diff {step.built.spec.name}: the placed sides should be identical")
    reads = {side: ws.last_audit["hash_cache"][side]["reads"] for side in ("local", "remote")}
    if warm and any(reads.values()):
        raise BenchError(f"warm usr {action}: the caches should answer for every file, yet it read {reads}")
    if not warm and not all(reads.values()):
        raise BenchError(f"cold usr {action}: with no caches both sides must read, yet it read {reads}")
    key = f"usr.{action}.{'warm' if warm else 'cold'}"
    step.runs[key].append(run)
    step.agent_peaks[key].append(watch.peak)


def _place_linked(ws: Workspace, built: BuiltDataset) -> None:
    """The built dataset hard-linked into all four trees, with no sync base and no hash caches."""
    name = built.spec.name
    ws.forget_local(name)
    for root in (ws.local_root, ws.remote_root, ws.mirror_local, ws.mirror_remote):
        shutil.copyfile(registry_path(built.root), registry_path(root))
        drop(root / name)
        shutil.copytree(built.path, root / name, copy_function=os.link)
    _forget_caches(ws, name)


def _forget_caches(ws: Workspace, name: str) -> None:
    for root in (ws.local_root, ws.remote_root):
        (root / SYNC_STATE_DIR / STORE_DIR / f"{name}.json").unlink(missing_ok=True)


def measure_growth(
    ws: Workspace,
    axes: tuple[Axis, ...],
    built: dict[DatasetSpec, BuiltDataset],
    repeats: int,
    progress,
) -> dict[DatasetSpec, StepRuns]:
    """Every distinct step once (the two axes share their first dataset); first pulls at the
    largest step along files."""
    first_pulls = {axis.steps[-1][1] for axis in axes if axis.name == "files"}
    measured: dict[DatasetSpec, StepRuns] = {}
    for spec in (spec for axis in axes for _, spec in axis.steps):
        if spec in measured:
            continue
        data = built[spec]
        what = "cold and warm no-ops" + (", first pulls" if spec in first_pulls else "")
        progress(f"growth: {data.files:,} files, {data.size_bytes / 1e9:.2f} GB: {what}")
        measured[spec] = measure_step(
            ws, data, repeats, cold_repeats=max(1, repeats // 2), first_pulls=spec in first_pulls
        )
    return measured


WARM_RATIO = {"bytes": 1.5, "files": 2.0}
"""Issue 31: a warm no-op at the largest step costs at most 1.5x rsync's quick check along bytes
(4 GiB of artifacts), 2x along files (20,000 parts)."""
FIRST_PULL_RATIO = 2.0
"""Issue 31: a first pull at 20,000 parts costs at most 2x `rsync -a` into an empty folder."""
FLAT_RATIO = 1.3
"""Issue 17: a warm no-op with 4 GiB more bytes costs at most 1.3x the same no-op without them."""


def growth_figures(axes: tuple[Axis, ...], measured: dict[DatasetSpec, StepRuns]) -> list[Figure]:
    """Per step and command: warm vs the quick check, cold vs --checksum; then flatness and memory."""
    figures: list[Figure] = []
    for axis in axes:
        last = len(axis.steps) - 1
        for index, (label, spec) in enumerate(axis.steps):
            step = measured[spec]
            where = f"growth {axis.name} {label} ({step.built.files:,} files)"
            slug = f"growth.{axis.name}.{_slug(label)}"
            for action, _ in COMMANDS:
                figures.append(
                    Figure(
                        key=f"{slug}.{action}.warm",
                        label=f"{where}: no-op {action}, warm",
                        unit="s",
                        ours=seconds(step.runs[f"usr.{action}.warm"]),
                        reference=seconds(step.runs["rsync.quick"]),
                        reference_label="rsync -a -n",
                        target=Target("<=", WARM_RATIO[axis.name], on="ratio") if index == last else None,
                    )
                )
                figures.append(
                    Figure(
                        key=f"{slug}.{action}.cold",
                        label=f"{where}: no-op {action}, cold (builds the caches)",
                        unit="s",
                        ours=seconds(step.runs[f"usr.{action}.cold"]),
                        reference=seconds(step.runs["rsync.checksum"]),
                        reference_label="rsync -a -n --checksum",
                    )
                )
            if step.runs.get("usr.pull.first"):
                figures.append(
                    Figure(
                        key=f"{slug}.pull.first",
                        label=f"{where}: first pull",
                        unit="s",
                        ours=seconds(step.runs["usr.pull.first"]),
                        reference=seconds(step.runs["rsync.fresh"]),
                        reference_label="rsync -a fresh",
                        target=Target("<=", FIRST_PULL_RATIO, on="ratio"),
                    )
                )
            if axis.name == "files":
                figures += _memory_figures(slug, where, step)
        if axis.name == "bytes":
            figures += _flatness(axis, measured)
    return figures


def _flatness(axis: Axis, measured: dict[DatasetSpec, StepRuns]) -> list[Figure]:
    (first_label, first), (last_label, last) = axis.steps[0], axis.steps[-1]
    return [
        Figure(
            key=f"growth.bytes.flat.{action}",
            label=f"growth bytes: warm no-op {action} at {last_label} extra vs {first_label}",
            unit="s",
            ours=seconds(measured[last].runs[f"usr.{action}.warm"]),
            reference=seconds(measured[first].runs[f"usr.{action}.warm"]),
            reference_label=f"same at {first_label}",
            target=Target("<=", FLAT_RATIO, on="ratio"),
        )
        for action, _ in COMMANDS
    ]


def _memory_figures(slug: str, where: str, step: StepRuns) -> list[Figure]:
    client = megabytes(
        run.peak_rss for key, runs in step.runs.items() if key.startswith("usr.") for run in runs
    )
    agent = megabytes(peak for peaks in step.agent_peaks.values() for peak in peaks)
    figures = []
    for side, stats in (("client", client), ("agent", agent)):
        if stats is not None:
            figures.append(
                Figure(
                    f"{slug}.{side}_memory",
                    f"{where}: peak memory, {side}",
                    "MB",
                    stats,
                    target=Target("<", MEMORY_LIMIT_MB),
                )
            )
    return figures


def _slug(label: str) -> str:
    return label.replace(",", "").replace(" ", "")


def run_sets(
    axes: tuple[Axis, ...], measured: dict[DatasetSpec, StepRuns]
) -> dict[str, dict[str, list[Run]]]:
    """The raw runs under one name per step, for the JSON's command details and the connection count."""
    named = {}
    for axis in axes:
        for label, spec in axis.steps:
            named[f"growth.{axis.name}.{_slug(label)}"] = dict(measured[spec].runs)
    return named
