"""Assemble `report.json` and `index.html` from a run folder after the drills have run.

The settings a replay needs (seed, engine, scale, pytest rootdir) come from the
caller, which knows them; everything else is read from the folder and the machine.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from usr_harness.cycle.steps import utc_stamp
from usr_harness.report.evidence import EVIDENCE_DIR, move_large_evidence
from usr_harness.report.html import render_page
from usr_harness.report.junit import stamp_verdict
from usr_harness.report.model import PAGE_FILE, REPORT_FILE, DrillEntry, Report
from usr_harness.report.reproduce import reproduce_command
from usr_harness.report.versions import tool_versions

JUNIT_FILE = "junit.xml"

PACKAGE_PARENT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class RunSettings:
    """How the drills were run: exactly what `usr-harness replay` passes to pytest again."""

    seed: int
    engine_cmd: str | None
    scale: str
    rootdir: Path
    engine_profile: str | None = None
    remote_options: tuple[str, ...] = ()
    """The options that chose a remote other than the loopback host (`--drill-remote-provider=...`)."""


def git_commit(repo: Path = PACKAGE_PARENT) -> str | None:
    """HEAD of the work tree the package lives at the top of; None for an installed copy or no git."""
    try:
        top = _git(repo, "rev-parse", "--show-toplevel")
        if top is None or Path(top).resolve() != repo.resolve():
            return None
        return _git(repo, "rev-parse", "HEAD")
    except (OSError, subprocess.SubprocessError):
        return None


def build_report(
    run_dir: Path,
    settings: RunSettings,
    *,
    steps: dict[str, Any] | None = None,
    replay_of: str | None = None,
) -> Report:
    """Read the run folder (moving large evidence to files first) into a Report."""
    by_nodeid = {line["nodeid"]: line for line in move_large_evidence(run_dir)}
    for nodeid, line in by_nodeid.items():
        line.setdefault("reproduce", _reproduce(nodeid, settings))
    return Report(
        run_id=run_dir.name,
        created_at=utc_stamp(),
        seed=settings.seed,
        engine_cmd=settings.engine_cmd,
        scale=settings.scale,
        rootdir=str(settings.rootdir.resolve()),
        versions=tool_versions(),
        drills=tuple(DrillEntry.from_dict(line) for line in by_nodeid.values()),
        run_files=_run_files(run_dir),
        git_commit=git_commit(),
        steps=steps,
        replay_of=replay_of,
        engine_profile=settings.engine_profile,
        remote_options=settings.remote_options,
    )


def write_run_files(
    run_dir: Path,
    settings: RunSettings,
    *,
    steps: dict[str, Any] | None = None,
    replay_of: str | None = None,
) -> Report:
    """Build the report, write `report.json` and `index.html`, and stamp its verdict into junit.xml."""
    report = build_report(run_dir, settings, steps=steps, replay_of=replay_of)
    (run_dir / REPORT_FILE).write_text(json.dumps(report.as_dict(), indent=2) + "\n", encoding="utf-8")
    (run_dir / PAGE_FILE).write_text(render_page(report), encoding="utf-8")
    stamp_verdict(run_dir / JUNIT_FILE, report.outcome, report.headline, report.blind_spots)
    return report


def _reproduce(nodeid: str, settings: RunSettings) -> str:
    """For lines written before drills.jsonl carried their own command."""
    return reproduce_command(
        nodeid,
        seed=settings.seed,
        scale=settings.scale,
        rootdir=str(settings.rootdir.resolve()),
        engine_profile=settings.engine_profile,
        engine_cmd=settings.engine_cmd,
        remote_options=settings.remote_options,
    )


def _run_files(run_dir: Path) -> tuple[str, ...]:
    """Run-level files a person may open: the folder's own files and the loose files of evidence/."""
    found = [path for path in run_dir.iterdir() if path.is_file() and not path.name.startswith(".")]
    evidence = run_dir / EVIDENCE_DIR
    if evidence.is_dir():
        found += [path for path in evidence.iterdir() if path.is_file()]
    names = {REPORT_FILE, PAGE_FILE}
    return tuple(sorted(path.relative_to(run_dir).as_posix() for path in found if path.name not in names))


def _git(repo: Path, *args: str) -> str | None:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=10)
    if done.returncode != 0:
        return None
    return done.stdout.strip() or None
