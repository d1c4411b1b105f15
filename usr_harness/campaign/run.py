"""Run a campaign on this machine: shard (or soak cycle) processes side by side, then one merged report.

Each shard is its own pytest process, so each starts its own loopback sshd (the plugin's
session-scoped `drill_host`) and shares nothing with the others but the engine under test.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from usr_harness.campaign.plan import CampaignSpec, cycle_folder, drill_args, shard_args, shard_folder
from usr_harness.campaign.provenance import SHARD_FILE
from usr_harness.campaign.soak import CycleOutcome
from usr_harness.report.merge import SHARDS_DIR, MergeResult, load_shards, merge_runs
from usr_harness.report.model import REPORT_FILE, load_report

LOG_FILE = "pytest.log"
Say = Callable[[str], None]


@dataclass(frozen=True)
class ProcessRun:
    folder: Path
    exit_code: int
    wall_seconds: float


@dataclass(frozen=True)
class CampaignResult:
    merge: MergeResult
    runs: list[ProcessRun]
    wall_seconds: float


def run_pool(jobs: list[tuple[list[str], Path]], width: int, say: Say) -> list[ProcessRun]:
    """Each job's pytest in a process of its own, at most `width` at once; output to `<folder>/pytest.log`."""

    def one(job: tuple[list[str], Path]) -> ProcessRun:
        args, folder = job
        folder.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        with open(folder / LOG_FILE, "w", encoding="utf-8") as log:
            code = subprocess.call(
                [sys.executable, "-m", "pytest", *args], stdout=log, stderr=subprocess.STDOUT
            )
        run = ProcessRun(folder, code, time.monotonic() - started)
        say(f"{folder.name}: pytest exited {code} after {run.wall_seconds:.1f} s ({folder / LOG_FILE})")
        return run

    with ThreadPoolExecutor(max_workers=max(1, width)) as pool:
        return list(pool.map(one, jobs))


def wrote_anything(folder: Path) -> bool:
    """A shard that died before it knew its drills leaves neither a report nor a shard record."""
    return (folder / REPORT_FILE).is_file() or (folder / SHARD_FILE).is_file()


def collect_selection(spec: CampaignSpec) -> list[str]:
    """The node ids of the whole selection (before sharding): what the merged report must account for.

    Read from the shard record the provenance plugin writes once collection ends, not from
    pytest's output (parametrized ids may hold spaces); a collection that failed selects nothing.
    """
    with tempfile.TemporaryDirectory(prefix="usr-harness-collect-") as temp:
        args = [*drill_args(spec, Path(temp), spec.seed), "--collect-only"]
        subprocess.run([sys.executable, "-m", "pytest", *args], capture_output=True, text=True)
        record = Path(temp) / SHARD_FILE
        if not record.is_file():
            return []
        return list(json.loads(record.read_text(encoding="utf-8"))["assigned"])


def run_campaign(spec: CampaignSpec, run_dir: Path, say: Say) -> CampaignResult:
    """Every shard in parallel into `run_dir/shards/`, then `report merge` into `run_dir`."""
    started = time.monotonic()
    expected = collect_selection(spec)
    say(f"{len(expected)} drills selected; {spec.shards} shard(s) into {run_dir / SHARDS_DIR}")
    groups = range(1, spec.shards + 1)
    folders = [shard_folder(run_dir / SHARDS_DIR, group) for group in groups]
    jobs = [(shard_args(spec, group, folders[group - 1]), folders[group - 1]) for group in groups]
    runs = run_pool(jobs, spec.shards, say)
    wrote = [run.folder for run in runs if wrote_anything(run.folder)]
    for run in runs:
        if run.folder not in wrote:
            say(
                f"{run.folder.name} wrote no report (pytest exited {run.exit_code}): "
                "its drills count as missing"
            )
    merged = merge_runs(load_shards(wrote), run_dir, expected)
    return CampaignResult(merged, runs, time.monotonic() - started)


def run_soak(spec: CampaignSpec, soak_dir: Path, say: Say) -> list[CycleOutcome]:
    """`spec.cycles` seeded cycles of the whole selection, `spec.shards` at a time; one report each."""
    jobs = [
        (drill_args(spec, cycle_folder(soak_dir, seed), seed), cycle_folder(soak_dir, seed))
        for seed in spec.seeds
    ]
    say(
        f"{spec.cycles} cycles (seeds {spec.seeds[0]}..{spec.seeds[-1]}), "
        f"{spec.shards} at a time, into {soak_dir}"
    )
    runs = run_pool(jobs, spec.shards, say)
    outcomes = []
    for seed, run in zip(spec.seeds, runs, strict=True):
        report = load_report(run.folder) if (run.folder / REPORT_FILE).is_file() else None
        outcomes.append(CycleOutcome(seed, report, run.exit_code, run.wall_seconds))
    return outcomes
