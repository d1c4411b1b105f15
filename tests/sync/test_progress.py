"""What Ctrl-C left behind, said in one line from the last phase a sync command reached."""

from __future__ import annotations

import pytest

from usr_harness.sync.progress import PHASES, SILENT, interrupted_line


@pytest.mark.parametrize("phase", [None, "connect", "compare", "transfer", "verify"])
def test_before_promotion_nothing_was_promoted(phase: str | None) -> None:
    line = interrupted_line("pull", "demo", phase)
    assert line.startswith("pull of demo interrupted") and "nothing was promoted" in line


def test_during_and_after_promotion_the_side_is_named() -> None:
    assert "the remote dataset is wholly old or wholly new" in interrupted_line("push", "ns/x", "promote")
    after = interrupted_line("pull", "demo", "post-verify")
    assert "the local dataset is new" in after and "usr diff demo REMOTE" in after
    assert PHASES[-1] == "post-verify" and SILENT.phase("connect") is None
