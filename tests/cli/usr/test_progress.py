"""The progress views of `usr pull` / `usr push`: which one, and the summary line's numbers."""

from __future__ import annotations

import io

from usr_harness.cli.usr.progress import NoView, PhaseLines, TransferBar, make_view, summary_line


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_view_follows_the_terminal_unless_told() -> None:
    assert isinstance(make_view("auto", "pull demo", Tty()).inner, TransferBar)
    assert isinstance(make_view("auto", "pull demo", io.StringIO()).inner, PhaseLines)
    assert isinstance(make_view("bar", "pull demo", io.StringIO()).inner, TransferBar)
    assert isinstance(make_view("lines", "pull demo", Tty()).inner, PhaseLines)
    assert isinstance(make_view("quiet", "pull demo", Tty()).inner, NoView)


def test_phase_lines_are_flushed_one_per_phase_with_the_rate() -> None:
    stream = io.StringIO()
    view = make_view("lines", "push demo", Tty(), stream)
    view.phase("compare")
    view.transfer(3, 5_000_000, lambda: (3, 5_000_000))
    view.phase("verify")
    lines = stream.getvalue().splitlines()
    assert lines[:2] == ["usr: push demo: compare", "usr: push demo: transfer 3 files, 5.0 MB"]
    assert lines[2].startswith("usr: push demo: moved 3/3 files, 5.0 MB in ") and lines[2].endswith("MB/s)")
    assert lines[3] == "usr: push demo: verify" and view.last == "verify"


def test_summary_line_gives_elapsed_time_and_mb_per_s() -> None:
    audit = {"data": {"transfer_state": "TRANSFERRED", "transfer": {"files": 12, "bytes": 31_200_000}}}
    assert (
        summary_line("pull", "demo", audit, 2.4)
        == "pull demo: TRANSFERRED, 12 files, 31.2 MB in 2.4 s (13.0 MB/s)"
    )
    assert (
        summary_line("pull", "demo", {"data": {"transfer_state": "NO-OP"}}, 0.31)
        == "pull demo: NO-OP in 0.3 s"
    )
