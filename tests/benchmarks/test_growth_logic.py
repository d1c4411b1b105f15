"""The growth section's pure parts: its axes, their shared first step, its figures and targets. No timing."""

from __future__ import annotations

from pathlib import Path

from benchmarks.datasets import MEDIUM, BuiltDataset, DatasetSpec
from benchmarks.growth import COMMANDS, StepRuns, growth_figures, run_sets
from benchmarks.growth_sets import GIB, growth_axes
from benchmarks.measure import Run


def test_axes_share_their_first_dataset_and_grow_one_thing_each():
    by_bytes, by_files = growth_axes()
    assert by_bytes.steps[0][1] == by_files.steps[0][1]
    assert [spec.blob_bytes for _, spec in by_bytes.steps] == [0, GIB, 4 * GIB]
    assert [spec.parts + spec.bulk_parts for _, spec in by_files.steps] == [200, 2_000, 20_000]
    assert len({spec.key() for axis in growth_axes(small=True) for _, spec in axis.steps}) == 5


def test_fields_added_later_leave_older_cache_keys_alone():
    assert MEDIUM.key() == DatasetSpec("medium", rows=200_000, parts=200, artifacts=50, snapshots=3).key()
    assert DatasetSpec("growth", blob_bytes=1).key() != DatasetSpec("growth").key()


def fake_step(spec: DatasetSpec, warm: float, quick: float, peak: int = 50_000_000) -> StepRuns:
    step = StepRuns(BuiltDataset(spec, Path("/nowhere"), 10, 100, 10))
    for action, _ in COMMANDS:
        step.runs[f"usr.{action}.warm"] = [Run(warm, peak, 1, "")] * 3
        step.runs[f"usr.{action}.cold"] = [Run(warm * 3, peak, 1, "")]
        step.agent_peaks[f"usr.{action}.warm"] = [peak // 2]
    step.runs["rsync.quick"] = [Run(quick, None, 1, "")] * 3
    step.runs["rsync.checksum"] = [Run(quick * 4, None, 1, "")] * 3
    return step


def test_targets_sit_on_the_largest_steps_and_the_flatness():
    axes = growth_axes()
    measured = {}
    for axis in axes:
        for index, (_, spec) in enumerate(axis.steps):
            measured.setdefault(spec, fake_step(spec, warm=0.5 + 0.1 * index, quick=0.4))
    figures = {figure.key: figure for figure in growth_figures(axes, measured)}
    assert figures["growth.bytes.4GiB.diff.warm"].met is False  # 1.75x: over issue 31's 1.5x along bytes
    assert figures["growth.files.20000parts.diff.warm"].met is True  # 1.75x: within 2x along files
    assert figures["growth.files.20000parts.push.warm"].ratio == 0.7 / 0.4
    assert figures["growth.bytes.0B.diff.warm"].target is None
    assert figures["growth.files.200parts.pull.cold"].reference_label == "rsync -a -n --checksum"
    assert (
        figures["growth.bytes.flat.pull"].ratio == 0.7 / 0.5
        and figures["growth.bytes.flat.pull"].met is False
    )
    assert figures["growth.files.20000parts.agent_memory"].ours.median == 25.0
    assert set(run_sets(axes, measured)) == {
        f"growth.{a.name}.{label}"
        for a, label in (
            (axes[0], "0B"),
            (axes[0], "1GiB"),
            (axes[0], "4GiB"),
            (axes[1], "200parts"),
            (axes[1], "2000parts"),
            (axes[1], "20000parts"),
        )
    }
