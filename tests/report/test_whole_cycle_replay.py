"""A whole fresh cycle replays drill by drill: the same verdict and the same fingerprints, every drill.

On demand (marker `whole_cycle`, deselected unless `-m whole_cycle`): a whole `usr-harness cycle`
and its replay each take about as long as the main job (~6 min each on 2 workers, 348 drills),
too long for the README test command; `.ci/run` runs this test after it. Both run as a user runs
them, each in its own process: the cycle with its own loopback sshd, the replay over 2 workers.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from usr_harness.report.model import load_report
from usr_harness.report.replay import compare_reports

pytestmark = [pytest.mark.whole_cycle, pytest.mark.ssh, pytest.mark.slow, pytest.mark.timeout(3600)]

SEED = 5
"""The seed of the run that replayed with 5 runbook walks differing before their wall-clock stamps were
left out of the prints."""
WORKERS = "2"


def harness(*args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    """`usr-harness ARGS` in its own process, and how long it took."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "usr_harness.cli.harness", *args], capture_output=True, text=True, timeout=2400
    )
    return done, time.monotonic() - started


def test_a_fresh_cycles_report_replays_to_the_same_verdicts_and_fingerprints(tmp_path: Path) -> None:
    cycles, replays = tmp_path / "cycles", tmp_path / "replays"
    cycle, cycle_seconds = harness(
        "cycle", "--seed", str(SEED), "--workers", WORKERS, "--report-dir", str(cycles), "-q"
    )
    original = load_report(cycles / "latest")
    assert original.drills, cycle.stdout[-3000:] + cycle.stderr[-3000:]

    replayed, replay_seconds = harness(
        "replay", str(cycles / "latest" / "report.json"), "--workers", WORKERS, "--report-dir", str(replays)
    )
    again = load_report(replays / "latest")
    assert again.replay_of == original.run_id, replayed.stderr[-3000:]
    comparisons = compare_reports(original, again)
    mismatches = [f"{c.nodeid}: {c.describe()}" for c in comparisons if not c.matches]
    matched = len(comparisons) - len(mismatches)
    print(
        f"whole cycle (seed {SEED}): {original.headline} in {cycle_seconds:.0f} s; replay on {WORKERS} "
        f"workers: {matched} of {len(comparisons)} drills match in {replay_seconds:.0f} s",
        *mismatches,
        sep="\n",
    )
    assert not mismatches, f"{len(mismatches)} of {len(comparisons)} drills differ:\n" + "\n".join(mismatches)
    assert replayed.returncode == 0 and f"replay: {matched} of {matched} drills match" in replayed.stdout
    assert cycle.returncode == 0, cycle.stdout[-3000:] + cycle.stderr[-3000:]
