"""`usr-harness report show [RUN]` and `usr-harness replay REPORT` from the command line."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.cli_runs import run_harness as run
from tests.report.conftest import (
    CORRUPTION,
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
    lines = out.splitlines()
    assert lines[0] == "failed: 6 drills: 2 pass, 2 fail, 1 unsupported, 1 unknown"
    assert lines[1].startswith("Failures (3)") and lines[2].startswith("fail")
    assert "drills/test_locks.py::test_busy_dataset[local]" in out.split("Failures (3)")[1].split("run ")[0]
    assert out.index("Failures (3)") < out.index(f"run {sample_run.name}")
    assert f"run {sample_run.name}" in out and "seed     7" in out and "engine   bundled" in out
    assert "2 hardening gaps" in out and "cycle failed (exit 1)" in out
    assert HOSTILE not in out and "test_chained_loop_ends_up_to_date" not in out
    assert "2 pass, 1 unsupported not listed (--all lists them)" in out
    assert f"page: {reports / 'latest' / 'index.html'}" in out

    code, out, _ = run(capsys, "report", "show", sample_run.name, "--report-dir", str(reports), "--all")
    assert code == 0 and "test_chained_loop_ends_up_to_date" in out and HOSTILE in out
    assert out.index("Failures (3)") < out.index("Other drills") < out.index(HOSTILE)
    assert run(capsys, "report", "show", str(sample_run / "report.json"))[1].startswith("failed: 6 drills")

    code, out, _ = run(capsys, "report", "show", str(sample_run), "--json")
    data = json.loads(out)
    assert code == 0 and list(data)[:3] == ["outcome", "headline", "blind_spots"]
    assert data["outcome"] == "failed" and data["headline"] == lines[0]
    assert {d["nodeid"]: d["message"] for d in data["drills"]}[HOSTILE].startswith("unsupported: ")


def test_show_of_a_passing_run_is_one_calm_line_with_blind_spots_apart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A passing run used to print its expected blind spots before anything else."""
    monkeypatch.setenv("COLUMNS", "200")
    blind = {**SAMPLE_LINES[0], "nodeid": f"{CORRUPTION}[meta.byte-flip-local]"}
    blind["evidence"] = {"blind_spots": ["diff/size", "pull/size"]}
    run_dir = make_run(tmp_path / "run", [SAMPLE_LINES[0], blind])
    write_run_files(run_dir, SETTINGS, steps={**STEPS, "status": "passed", "exit_code": 0})
    code, out, err = run(capsys, "report", "show", str(run_dir))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "passed: 2 drills: 2 pass, 0 fail, 0 unsupported, 0 unknown (2 expected blind spots)"
    assert lines[1].startswith("Expected blind spots (2)") and "Failures" not in out
    assert lines[2] == f"  {CORRUPTION}[meta.byte-flip-local]: diff/size, pull/size"


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
    assert "replaying 2 drills of first (seed 7, engine bundled, scale small, remote loopback)" in err
    assert "same    drills/test_tiny.py::test_steady: verdict pass, fingerprints same (1)" in out
    assert "DIFFERS drills/test_tiny.py::test_wall_clock: fingerprints differ: final.local" in out
    assert "replay: 1 of 2 drills match (verdict and fingerprints)" in out
    assert (
        tmp_path / "reports/latest/report.json"
    ).is_file()  # the replay's own run folder, beside the first

    data = json.loads((first / "report.json").read_text())
    data["drills"] = [d for d in data["drills"] if d["nodeid"].endswith("test_steady")]
    (first / "report.json").write_text(json.dumps(data))
    elsewhere = ["--report-dir", str(tmp_path / "elsewhere")]
    code, out, _ = run(capsys, "replay", str(first), *elsewhere, "--workers", "2")  # over pytest-xdist
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

    moved = make_run(
        tmp_path / "moved", [{**line, "verdict": "pass", "evidence": {}} for line in SAMPLE_LINES]
    )
    write_run_files(moved, SETTINGS)
    code, out, err = run(capsys, "report", "compare", str(sample_run), str(moved))
    assert code == 1, err
    assert "B: bundled (moved): passed: 6 drills: 6 pass" in out
    locks = "drills/test_locks.py::test_busy_dataset[local]"
    why = out.split(locks, 1)[1].splitlines()
    assert why[1].startswith("    A: fail (hardening gap of H-hostile-input)")
    assert why[2] == "    B: pass: holds H-hostile-input"
    code, out, _ = run(capsys, "report", "compare", str(sample_run), str(moved), "--json")
    data = json.loads(out)
    assert code == 1 and data["A"]["outcome"] == "failed" and data["B"]["outcome"] == "passed"
    row = next(row for row in data["drills"] if row["nodeid"] == locks)
    assert row["A"] == "fail" and row["B"] == "pass" and row["B_message"] == "pass: holds H-hostile-input"
    assert data["summary"]["moved"] == 4 and len(data["drills"]) == 4

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
