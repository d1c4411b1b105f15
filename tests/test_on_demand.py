"""The repository conftest keeps on-demand tests (`whole_cycle`) out unless `-m` names their marker."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WHOLE_CYCLE = "tests/report/test_whole_cycle_replay.py"


def collected(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.stdout


@pytest.mark.parametrize(
    ("args", "runs"),
    [
        ((WHOLE_CYCLE,), False),  # named by path: still deselected
        ((WHOLE_CYCLE, "-m", "ssh"), False),
        ((WHOLE_CYCLE, "-m", "whole_cycle"), True),
    ],
)
def test_the_whole_cycle_replay_runs_only_when_its_marker_is_asked_for(
    args: tuple[str, ...], runs: bool
) -> None:
    out = collected(*args)
    assert ("test_a_fresh_cycles_report_replays" in out) is runs, out
    assert ("1 deselected" in out) is not runs, out
