"""The peer rows: which engine runs, what a peer command must show to be timed, how rows read. No timing."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.figures import LOOP_STEPS, peer_figures
from benchmarks.measure import BenchError, Run
from benchmarks.peer import PEER_ENV, PEER_STEPS, peer_command, timed
from usr_harness.engines.adapter import EngineResult


def result(exit_code: int = 0, audit: dict | None = None) -> EngineResult:
    return EngineResult(("usr", "pull"), exit_code, None, audit, "out", "err")


def test_the_peer_is_the_flag_else_the_environment_else_none(tmp_path: Path, monkeypatch) -> None:
    flag, env = tmp_path / "flag-usr", tmp_path / "env-usr"
    for path in (flag, env):
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)
    monkeypatch.delenv(PEER_ENV, raising=False)
    assert peer_command(None) is None
    monkeypatch.setenv(PEER_ENV, str(env))
    assert peer_command(None) == env
    assert peer_command(flag) == flag


def test_a_peer_that_is_not_an_executable_stops_the_run(tmp_path: Path) -> None:
    with pytest.raises(BenchError, match="not an executable"):
        peer_command(tmp_path / "missing-usr")


@pytest.mark.parametrize(
    ("outcome", "expect", "why"),
    [
        (result(exit_code=2), "NO-OP", "exit 2"),
        (result(audit={"data": {"transfer_state": "TRANSFERRED"}}), "NO-OP", "expected NO-OP"),
        (result(audit={"data": {"up_to_date": False}}), "up to date", "reported as changed"),
    ],
)
def test_a_peer_command_that_did_not_do_its_job_is_no_figure(
    outcome: EngineResult, expect: str, why: str
) -> None:
    with pytest.raises(BenchError, match=why):
        timed(lambda: outcome, "step", expect)


def test_a_peer_command_that_did_its_job_is_timed() -> None:
    run = timed(lambda: result(audit={"data": {"transfer_state": "NO-OP"}}), "no-op pull", "NO-OP")
    assert run.seconds >= 0 and run.stdout == "out"
    assert timed(lambda: result(), "no-op pull", "NO-OP").stdout == "out"  # an engine without an audit


def test_each_peer_row_puts_ours_beside_the_peers_same_step() -> None:
    runs = {f"usr.{step}": [Run(0.2, None, 1, "")] * 3 for step, *_ in LOOP_STEPS}
    runs |= {f"peer.{step}": [Run(1.0, None, 0, "")] * 3 for step in PEER_STEPS}
    figures = {figure.key: figure for figure in peer_figures("medium", runs)}
    assert set(figures) == {f"medium.peer_{step}" for step in PEER_STEPS}
    row = figures["medium.peer_noop_pull"]
    assert row.ratio == pytest.approx(0.2)
    assert "it takes 5.0x ours" in row.label and row.target is None
    assert peer_figures("medium", {key: value for key, value in runs.items() if key.startswith("usr.")}) == []
