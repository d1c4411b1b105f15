"""`usr-harness campaign` end to end on a few cheap real drills: each shard its own pytest and loopback sshd.

Kept small (four drills, about ten seconds a run) so the suite stays fast; the whole-suite
figures are measured on demand and written in the README.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_runs import run_harness
from usr_harness.report.model import load_report
from usr_harness.report.replay import compare_reports

pytestmark = [pytest.mark.ssh, pytest.mark.slow]

#: Three corruption cases with fingerprints and an adversarial case through the engine's own
#: commands, in a few seconds.
SELECTION = (
    "meta.symlink-outside or events.truncate-local or (test_adversarial_schemas and registry-invalid-yaml)"
)


def test_two_shards_give_the_verdicts_and_fingerprints_of_one_run_and_replay(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = tmp_path / "reports"
    code, out, err = run_harness(
        capsys, "campaign", "--shards", "2", "--drills", SELECTION, "--report-dir", str(reports)
    )
    assert code == 0, out + err
    assert "4 drills selected; 2 shard(s)" in err and "campaign: 2 shard(s)" in out
    merged = load_report(reports / "latest")
    provenance = json.loads((reports / "latest" / "report.json").read_text())["merged_from"]
    assert [shard["group"] for shard in provenance["shards"]] == [1, 2]
    assert all(shard["summary"]["total"] for shard in provenance["shards"])
    assert provenance["missing"] == [] and provenance["duplicates"] == []

    # The replay is one unsharded run of the same drills and seed: it must match the merge drill by drill.
    # In its own process, as a user runs it: replay runs pytest in-process, and under xdist another
    # test may already hold a `drills` package of its own in this worker's sys.modules.
    replayed = subprocess.run(
        [sys.executable, "-m", "usr_harness.cli.harness", "replay", str(reports / "latest" / "report.json")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    out = replayed.stdout
    assert replayed.returncode == 0, out + replayed.stderr
    assert "replay: 4 of 4 drills match (verdict and fingerprints)" in out
    assert out.count("fingerprints same (1)") >= 3 and "same    drills/test_corruption_matrix" in out
    whole = load_report(reports / "latest")
    assert whole.replay_of == merged.run_id and len(whole.drills) == 4
    assert {d.verdict for d in whole.drills} == {"pass"}
    comparisons = compare_reports(whole, merged)
    assert all(c.matches for c in comparisons), [c.describe() for c in comparisons]


def test_a_soak_spreads_seeded_cycles_over_shards_and_counts_false_alarms(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = tmp_path / "reports"
    argv = ["campaign", "--shards", "2", "--cycles", "2", "--seed", "40", "--report-dir", str(reports)]
    code, out, err = run_harness(capsys, *argv, "--drills", "meta.symlink-outside-local")
    assert code == 0, out + err
    assert "soak: 2 cycles, 2 drill runs, 0 false alarm(s)" in out
    soak = json.loads(next(reports.glob("soak-*/soak.json")).read_text())
    assert soak["seeds"] == [40, 41] and soak["false_alarm_count"] == 0
    assert [run["summary"]["pass"] for run in soak["cycle_runs"]] == [1, 1]
