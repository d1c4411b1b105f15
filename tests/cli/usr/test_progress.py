"""The progress views of `usr pull` / `usr push`: which one, and the summary line's numbers."""

from __future__ import annotations

import io
import time

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


def test_off_a_terminal_long_work_says_where_it_stands_at_most_every_heartbeat() -> None:
    clock = [0.0]
    stream = io.StringIO()
    view = PhaseLines("pull demo", stream, heartbeat=10.0, now=lambda: clock[0])
    view.phase("compare")
    for at in (4.0, 9.9, 10.0, 15.0):
        clock[0] = at
        view.beat()
    view.transfer(4, 3_000_000_000, lambda: (1, 1_000_000_000))
    clock[0] = 29.0
    view.beat()
    clock[0] = 30.0
    view.beat()
    view.close()
    assert stream.getvalue().splitlines()[:5] == [
        "usr: pull demo: compare",
        "usr: pull demo: compare: still working, 10 s",
        "usr: pull demo: transfer 4 files, 3000.0 MB",
        "usr: pull demo: moving 1/4 files, 1000.0 MB of 3000.0 MB (71.4 MB/s)",
        "usr: pull demo: moved 1/4 files, 1000.0 MB in 15.0 s (66.7 MB/s)",
    ]


def test_the_heartbeat_runs_by_itself_and_stops_with_the_view() -> None:
    stream = io.StringIO()
    view = PhaseLines("push demo", stream, heartbeat=0.02)
    view.phase("compare")
    deadline = time.monotonic() + 5
    while "still working" not in stream.getvalue() and time.monotonic() < deadline:
        time.sleep(0.01)
    view.close()
    said = stream.getvalue()
    assert "usr: push demo: compare: still working" in said
    time.sleep(0.1)
    assert stream.getvalue() == said
