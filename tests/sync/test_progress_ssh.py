"""`usr pull` / `usr push` progress over a real loopback sshd: phase lines, the summary, Ctrl-C."""

from __future__ import annotations

import re

import pytest

from tests.sync.test_engine_ssh import no_stages
from tests.usr_sides import DATASET, Sides, make_dataset
from usr_harness.cli.usr import progress as sync_progress
from usr_harness.report.fingerprint import fingerprint_tree

PHASES = ["connect", "compare", "compare", "transfer", "moved", "verify", "promote", "post-verify"]
SUMMARY = re.compile(
    r"^(pull|push) demo: TRANSFERRED, \d+ files, [\d.]+ MB in [\d.]+ s \([\d.]+ MB/s\)$", re.M
)


def _phases(err: str) -> list[str]:
    return [line.split(": ", 2)[2].split()[0] for line in err.splitlines() if line.startswith("usr: ")]


@pytest.mark.parametrize("action", ["pull", "push"])
def test_off_a_terminal_one_line_per_phase_and_a_summary_with_mb_per_s(sides: Sides, action: str):
    make_dataset(sides.remote_root if action == "pull" else sides.local_root)
    result = sides.usr(action, DATASET, "loopback", "-y")
    assert result.code == 0, result.err + result.out
    assert _phases(result.out) == PHASES and result.err == ""
    assert f"usr: {action} demo: transfer " in result.out and " MB in " in result.out
    assert result.out.index("usr: ") < result.out.index("USR sync audit") < SUMMARY.search(result.out).start()
    assert SUMMARY.search(result.out), result.out


def test_quiet_prints_no_progress_and_a_bar_can_be_forced(sides: Sides):
    make_dataset(sides.remote_root)
    quiet = sides.usr("pull", DATASET, "loopback", "-y", "--quiet")
    assert quiet.code == 0 and quiet.err == "" and not SUMMARY.search(quiet.out) and "usr: " not in quiet.out
    sides.assert_equal_trees()
    (sides.remote / "_artifacts").mkdir()
    (sides.remote / "_artifacts" / "notes.txt").write_text("round 2\n" * 1000)
    forced = sides.usr("pull", DATASET, "loopback", "-y", "--progress")
    assert forced.code == 0, forced.err
    assert "usr: pull demo: promote" in forced.err and "pull demo 1/1 files" in forced.err
    assert SUMMARY.search(forced.out)


@pytest.mark.parametrize(("action", "phase"), [("pull", "verify"), ("pull", "promote"), ("push", "verify")])
def test_ctrl_c_says_what_was_promoted_and_changes_nothing_before_promotion(
    sides: Sides, action: str, phase: str, monkeypatch: pytest.MonkeyPatch
):
    make_dataset(sides.remote_root)
    assert sides.usr("pull", DATASET, "loopback", "-y").code == 0
    changed = sides.remote if action == "pull" else sides.local
    (changed / "_artifacts").mkdir()
    (changed / "_artifacts" / "new.txt").write_text("new on one side\n")
    before = sides.fingerprints()
    said = sync_progress.PhaseLines.phase

    def interrupt(self, name: str) -> None:
        said(self, name)
        if name == phase:
            raise KeyboardInterrupt

    monkeypatch.setattr(sync_progress.PhaseLines, "phase", interrupt)
    result = sides.usr(action, DATASET, "loopback", "-y")
    assert result.code == 130
    (line,) = [line for line in result.err.splitlines() if "interrupted" in line]
    if phase == "promote":  # the instant before the journal: wholly old, as the line allows
        assert line.startswith(f"usr: {action} of demo interrupted during promotion: the local dataset")
    else:
        assert line == (
            f"usr: {action} of demo interrupted during {phase}: nothing was promoted, both sides are as they"
            " were (staging removed)"
        )
    assert sides.fingerprints() == before
    assert no_stages(sides.local_root) and no_stages(sides.remote_root)
    assert fingerprint_tree(sides.local).digest == before[0].digest != fingerprint_tree(sides.remote).digest
