"""Run folders for the report tests: a hand-made one (every verdict, audits, corruption cases) and
tiny real drills that run in-process in well under a second. The CLI tests import the helpers."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from usr_harness.report.build import RunSettings

DIGEST = "ab" * 32
OTHER = "cd" * 32
AUDIT = {
    "data": {"transfer_state": "TRANSFERRED", "files": [f"_derived/ns/part-{i}.parquet" for i in range(40)]}
}
CORRUPTION = "drills/test_corruption_matrix.py::test_corruption_matrix"
#: drills.jsonl of a real run: `pytest drills/test_corruption_matrix.py -k "byte-flip or stray or truncate"
#: --drill-report-dir=DIR` (bundled engine, scale small; the first 20 drills), keeping only the evidence the
#: matrix reads (expected, observed, blind_spots, unjudged, applied, the reason): per-call outputs left out.
REAL_RUN = Path(__file__).parent / "fixtures" / "corruption-run.jsonl"
HOSTILE = "drills/test_security.py::test_hostile_ids[<script>alert(1)</script>]"
STEPS = {
    "started_at": "2026-01-01T00:00:00.000000Z",
    "finished_at": "2026-01-01T00:02:00.000000Z",
    "status": "failed",
    "exit_code": 1,
    "failed_step": "run:drills",
    "steps": [
        {
            "name": "preflight:host-up",
            "status": "passed",
            "exit_code": 0,
            "duration_seconds": 0.1,
            "command": "sshd",
            "detail": "sshd on 127.0.0.1:2222",
        },
        {
            "name": "run:drills",
            "status": "failed",
            "exit_code": 1,
            "duration_seconds": 90.5,
            "command": "pytest drills",
            "detail": "pytest exited 1",
        },
        {
            "name": "verify:sync-audit-drill",
            "status": "skipped",
            "exit_code": 0,
            "duration_seconds": 0.0,
            "command": "usr-sync-audit-drill",
            "detail": "not asked",
        },
    ],
}


def drill_line(nodeid: str, verdict: str, duration: float = 1.0, **evidence: object) -> dict:
    return {
        "nodeid": nodeid,
        "verdict": verdict,
        "seed": 1234,
        "engine": "bundled",
        "enforces": ["H-hostile-input"],
        "engine_calls": 1,
        "evidence": evidence,
        "fingerprints": {"final": {"local": DIGEST, "remote": DIGEST if verdict == "pass" else OTHER}},
        "duration_seconds": duration,
    }


SAMPLE_LINES = [
    drill_line(
        "drills/test_runbook_drills.py::test_chained_loop_ends_up_to_date",
        "pass",
        5.5,
        **{"pull-0": {"exit_code": 0}, "pull-0.audit": AUDIT},
    ),
    drill_line("drills/test_locks.py::test_busy_dataset[local]", "fail", 4.2, trace="x" * 3000),
    drill_line(
        HOSTILE, "unsupported", 0.05, unsupported_because="engine upstream has no --lock-timeout SECONDS"
    ),
    drill_line(
        f"{CORRUPTION}[derived.byte-flip-local]",
        "pass",
        2.0,
        expected={"diff/strict": "changed", "pull/strict": "sidecars", "validate/strict": "n/a"},
        observed={"diff/strict": "changed", "pull/strict": "sidecars"},
    ),
    drill_line(
        f"{CORRUPTION}[meta.byte-flip-local]",
        "unknown",
        1.5,
        expected={"diff/strict": "changed", "diff/size": "blind"},
        observed={"diff/strict": "changed", "diff/size": "unchanged"},
        unknown_because="known blind spot(s), not a pass: diff/size",
    ),
    drill_line(
        f"{CORRUPTION}[events.truncate-remote]",
        "fail",
        1.7,
        expected={"diff/strict": "changed", "pull/strict": "events"},
        observed={"diff/strict": "changed", "pull/strict": "unchanged"},
        failure="pull/strict: expected events, got unchanged: pull: NO-OP",
    ),
]


def make_run(folder: Path, lines: list[dict]) -> Path:
    """A run folder as the cycle leaves it before the report is built."""
    (folder / "evidence").mkdir(parents=True)
    (folder / "evidence/sshd.log").write_text("sshd started\n")
    (folder / "junit.xml").write_text("<testsuites/>\n")
    (folder / "cycle-report.json").write_text(json.dumps(STEPS) + "\n")
    (folder / "drills.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    return folder


@pytest.fixture
def sample_run(tmp_path: Path) -> Path:
    return make_run(tmp_path / "reports" / "20260101T000000000000Z-seed7", SAMPLE_LINES)


SETTINGS = RunSettings(seed=7, engine_cmd=None, scale="small", rootdir=Path("/nonexistent/rootdir"))

TINY_DRILLS = """
import time

import pytest

from usr_harness.engines import make_engine
from usr_harness.report.fingerprint import fingerprint_tree

pytestmark = pytest.mark.enforces("H-hostile-input")


def _print(drill, tmp_path, content):
    make_engine(tmp_path / "engine-root").run("validate", "absent")
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "records.txt").write_text(content)
    digest = fingerprint_tree(tmp_path / "tree").digest
    drill.add_fingerprint("final", {"local": digest, "remote": digest})


def test_steady(drill, tmp_path):
    _print(drill, tmp_path, f"rows seeded by {drill.seed}")


def test_wall_clock(drill, tmp_path):
    _print(drill, tmp_path, f"written at {time.time_ns()}")


def test_refused(drill, tmp_path):
    make_engine(tmp_path).run("validate", "absent")
    assert drill.seed < 0, "a failing drill"


@pytest.mark.parametrize("case", ["a;rm -rf x", "new\\nline"])
def test_skipped(drill, case):
    pytest.skip("no host here")
"""


def write_tiny_drills(root: Path) -> Path:
    """A rootdir holding `drills/test_tiny.py`; importlib mode lets several such roots share a process."""
    (root / "drills").mkdir(parents=True)
    (root / "drills/test_tiny.py").write_text(textwrap.dedent(TINY_DRILLS))
    (root / "pytest.ini").write_text("[pytest]\naddopts = --import-mode=importlib\n")
    return root


@pytest.fixture
def tiny_drills(tmp_path: Path) -> Path:
    return write_tiny_drills(tmp_path / "tiny-root")


def run_tiny(root: Path, run_dir: Path, seed: int, *selection: str) -> None:
    """Run the tiny drills in-process like the cycle does, into `run_dir`."""
    args = [str(root / "drills" / "test_tiny.py"), "-q", "-p", "no:cacheprovider", f"--rootdir={root}"]
    args += [f"--drill-seed={seed}", f"--drill-report-dir={run_dir}"]
    for expression in selection:
        args += ["-k", expression]
    pytest.main(args)
