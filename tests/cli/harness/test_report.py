"""`usr-harness report show [RUN]` and `usr-harness replay REPORT` from the command line."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.cli_runs import run_harness as run
from tests.report.conftest import (
    HOSTILE,
    SAMPLE_LINES,
    SETTINGS,
    STEPS,
    make_run,
    run_tiny,
    write_tiny_drills,
)
from usr_harness.report.build import RunSettings, write_run_files


@pytest.fixture
def sample_run(tmp_path: Path) -> Path:
    return make_run(tmp_path / "reports" / "20260101T000000000000Z-seed7", SAMPLE_LINES)


def test_show_summarises_latest_run_by_folder_or_id(
    sample_run: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    write_run_files(sample_run, SETTINGS, steps=STEPS)
    reports = sample_run.parent
    os.symlink(sample_run.name, reports / "latest")
    code, out, err = run(capsys, "report", "show", "--report-dir", str(reports))
    assert code == 0, err
    assert f"run {sample_run.name}" in out and "seed     7" in out and "engine   bundled" in out
    assert (
        "6 drills: 2 pass, 2 fail, 1 unsupported, 1 unknown" in out
        and "2 hardening gaps" in out
        and "cycle failed (exit 1)" in out
    )
    assert HOSTILE in out and "drills/test_locks.py::test_busy_dataset[local]" in out
    assert "test_chained_loop_ends_up_to_date" not in out
    assert f"page: {reports / 'latest' / 'index.html'}" in out

    code, out, _ = run(capsys, "report", "show", sample_run.name, "--report-dir", str(reports), "--all")
    assert code == 0 and "test_chained_loop_ends_up_to_date" in out
    assert run(capsys, "report", "show", str(sample_run / "report.json"))[1].startswith(
        f"run {sample_run.name}"
    )


def test_show_without_a_report_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "report", "show", "--report-dir", str(tmp_path))
    assert code == 2 and f"no report at {tmp_path / 'latest'}\n" in err


def test_replay_prints_each_drill_and_exits_by_the_comparison(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tiny_drills = write_tiny_drills(tmp_path / "tiny-root")
    first = tmp_path / "reports" / "first"
    run_tiny(tiny_drills, first, 7, "steady or wall_clock")
    write_run_files(first, RunSettings(7, None, "small", tiny_drills))
    capsys.readouterr()
    code, out, err = run(capsys, "replay", str(first / "report.json"))
    assert code == 1, err
    assert "replaying 2 drills of first (seed 7, engine bundled, scale small)" in err
    assert "same    drills/test_tiny.py::test_steady: verdict pass, fingerprints same (1)" in out
    assert "DIFFERS drills/test_tiny.py::test_wall_clock: fingerprints differ: final.local" in out
    assert "replay: 1 of 2 drills match (verdict and fingerprints)" in out
    assert (
        tmp_path / "reports/latest/report.json"
    ).is_file()  # the replay's own run folder, beside the first

    data = json.loads((first / "report.json").read_text())
    data["drills"] = [d for d in data["drills"] if d["nodeid"].endswith("test_steady")]
    (first / "report.json").write_text(json.dumps(data))
    code, out, _ = run(capsys, "replay", str(first), "--report-dir", str(tmp_path / "elsewhere"))
    assert code == 0 and out.strip().endswith(
        "replay: 1 of 1 drills match (verdict and fingerprints); "
        + str(next((tmp_path / "elsewhere").glob("*-seed7")))
    )


def test_compare_and_check_exit_by_whether_a_verdict_moved(
    sample_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    write_run_files(sample_run, SETTINGS)
    code, out, err = run(capsys, "report", "compare", str(sample_run), str(sample_run))
    assert code == 0, err
    assert "same 6, moved 0" in out

    golden = tmp_path / "golden.json"
    code, out, err = run(
        capsys, "report", "golden", str(sample_run), "--out", str(golden), "--engine-version", "t1"
    )
    assert code == 0, err
    assert "6 drills; 2 to review" in out
    assert run(capsys, "report", "check", str(sample_run), "--golden", str(golden))[0] == 0

    data = json.loads(golden.read_text())
    nodeid = "drills/test_locks.py::test_busy_dataset[local]"
    flipped = "pass" if data["drills"][nodeid]["verdict"] != "pass" else "fail"
    data["drills"][nodeid].update(verdict=flipped, judged="right", why="was fixed upstream")
    golden.write_text(json.dumps(data))
    code, out, _ = run(capsys, "report", "check", str(sample_run), "--golden", str(golden))
    assert code == 1
    assert f"MOVED {nodeid}: {flipped} ->" in out and "was fixed upstream" in out
    assert "5 of 6 drills hold the verdicts of bundled t1" in out


def test_show_keeps_long_names_whole_at_80_columns_and_says_how_to_reproduce(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    nodeid = "drills/test_corruption_matrix.py::test_corruption_is_detected_as_declared"
    nodeid += "[derived.footer-damage-remote]"
    failure = "pull/strict: expected sidecars, got verify: " + "x" * 120
    long_step = {**STEPS["steps"][1], "detail": "[fidelity] after pull the local dataset differs: " + nodeid}
    steps = {**STEPS, "steps": [long_step]}
    run_dir = make_run(
        tmp_path / "run", [{**SAMPLE_LINES[1], "nodeid": nodeid, "evidence": {"failure": failure}}]
    )
    write_run_files(run_dir, SETTINGS, steps=steps)
    code, out, err = run(capsys, "report", "show", str(run_dir))
    assert code == 0, err
    assert nodeid in out and f"why: fail (hardening gap of H-hostile-input): {failure}" in out
    assert f"reproduce: cd /nonexistent/rootdir && pytest '{nodeid}' --drill-seed=7" in out
    assert "…" not in out and "derived.footer-damage-remote" in out.split("Cycle steps")[1].split("\n")[1]
