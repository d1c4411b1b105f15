"""Replay: run the drills of a report again, same nodeids, seed, engine, scale and remote, and compare.

A drill matches when its verdict and every fingerprint label (local and remote
digests alike) are the same; a drill the replay did not run is a mismatch, so a
replay never passes by running less.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from usr_harness.report.build import RunSettings, write_run_files
from usr_harness.report.model import Report


@dataclass(frozen=True)
class DrillComparison:
    """One drill, original against replay; `changed_prints` names fingerprint labels that differ."""

    nodeid: str
    verdict: str
    replay_verdict: str | None
    changed_prints: tuple[str, ...]
    compared_prints: int = 0

    @property
    def matches(self) -> bool:
        return self.verdict == self.replay_verdict and not self.changed_prints

    def describe(self) -> str:
        """One line a person reads: what matched or exactly what did not."""
        if self.replay_verdict is None:
            return "not run by the replay"
        if self.matches and not self.compared_prints:
            return f"verdict {self.verdict}, no fingerprints recorded"
        if self.matches:
            return f"verdict {self.verdict}, fingerprints same ({self.compared_prints})"
        problems = []
        if self.verdict != self.replay_verdict:
            problems.append(f"verdict {self.verdict} -> {self.replay_verdict}")
        if self.changed_prints:
            problems.append("fingerprints differ: " + ", ".join(self.changed_prints))
        return "; ".join(problems)


def pytest_args(report: Report, run_dir: Path, workers: int = 0) -> list[str]:
    """The drills of `report` by nodeid (made absolute against its rootdir) with the same settings,
    on the same remote, over `workers` pytest-xdist workers (0: in this process).

    Plugin options are written `--name=value`: pytest looks for its ini file before the plugin
    is loaded, and would take a separate value (the run folder) for a path to test.
    """
    root = Path(report.rootdir)
    args = [_absolute(root, drill.nodeid) for drill in report.drills]
    args += ["-q", "-p", "no:cacheprovider", "-W", "ignore::pytest.PytestAssertRewriteWarning"]
    args += [f"--rootdir={root}", f"--drill-seed={report.seed}", f"--drill-scale={report.scale}"]
    args += [f"--drill-report-dir={run_dir}", f"--junitxml={run_dir / 'junit.xml'}"]
    if report.engine_cmd:
        args.append(f"--engine-cmd={report.engine_cmd}")
    if report.engine_profile:
        args.append(f"--engine-profile={report.engine_profile}")
    args += report.remote_options
    if workers:
        args.append(f"--numprocesses={workers}")
    return args


def replay(report: Report, run_dir: Path, workers: int = 0) -> tuple[Report, list[DrillComparison]]:
    """Run the drills into `run_dir`, write its report files, and compare drill by drill."""
    import pytest

    run_dir.mkdir(parents=True, exist_ok=True)
    pytest.main(pytest_args(report, run_dir, workers))
    settings = RunSettings(
        report.seed,
        report.engine_cmd,
        report.scale,
        Path(report.rootdir),
        report.engine_profile,
        report.remote_options,
    )
    again = write_run_files(run_dir, settings, replay_of=report.run_id)
    return again, compare_reports(report, again)


def compare_reports(original: Report, again: Report) -> list[DrillComparison]:
    """Per drill of `original`, in its order: verdicts and fingerprint labels side by side."""
    replayed = {drill.nodeid: drill for drill in again.drills}
    comparisons = []
    for drill in original.drills:
        other = replayed.get(drill.nodeid)
        if other is None:
            comparisons.append(DrillComparison(drill.nodeid, drill.verdict, None, ()))
            continue
        changed = _changed_labels(drill.fingerprints, other.fingerprints)
        labels = len(drill.fingerprints.keys() | other.fingerprints.keys())
        comparisons.append(DrillComparison(drill.nodeid, drill.verdict, other.verdict, changed, labels))
    return comparisons


def _changed_labels(before: dict[str, Any], after: dict[str, Any]) -> tuple[str, ...]:
    """`label` or `label.side` for every fingerprint that is missing, extra or different."""
    changed = []
    for label in sorted(before.keys() | after.keys()):
        old, new = before.get(label), after.get(label)
        if isinstance(old, dict) and isinstance(new, dict):
            sides = sorted(old.keys() | new.keys())
            changed += [f"{label}.{side}" for side in sides if old.get(side) != new.get(side)]
        elif old != new:
            changed.append(label)
    return tuple(changed)


def _absolute(root: Path, nodeid: str) -> str:
    """pytest resolves nodeid paths against the working directory, so anchor them at the rootdir."""
    path, separator, rest = nodeid.partition("::")
    return str(root / path) + separator + rest
