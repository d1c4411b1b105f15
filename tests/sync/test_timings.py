"""The phase clock: steps and spans count every second once, and the agent's seconds land in their rows."""

from __future__ import annotations

import subprocess
import sys

import pytest

from usr_harness.sync.progress import Silent
from usr_harness.sync.timings import PHASES, Timings, process_age, render, with_audit_write
from usr_harness.sync.transport import Stats


class Clock:
    """A clock the test moves by hand: the logic is checked, not the machine's speed."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_spans_are_taken_out_of_their_step_and_nested_spans_out_of_theirs() -> None:
    clock = Clock()
    timings = Timings(clock)
    observer = timings.watching(Silent())
    observer.phase("compare")
    with timings.span("remote scan"):
        with timings.span("local scan"):
            clock.now += 5
        clock.now += 2
    clock.now += 1
    observer.transfer(1, 10, lambda: (0, 0))
    clock.now += 3
    timings.step(None)
    assert timings.local == {"local scan": 5, "remote scan": 2, "compare (other)": 1, "transfer": 3}
    assert timings.report()["total"] == pytest.approx(11 + (timings.startup or 0.0), abs=1e-3)


def test_the_report_puts_agent_operations_in_their_rows_and_sums_to_the_total() -> None:
    clock = Clock()
    timings = Timings(clock)
    timings.step("connect")
    clock.now += 2
    timings.step(None)
    stats = Stats(requests=7)
    stats.connect = {"ssh connect+auth": 0.25, "agent start": 0.1}
    stats.agent = {
        "start-up": 0.04,
        "ops": {"manifest": 0.3, "hashes": 0.1, "put": 0.5, "promote": 0.2, "file_stat": 0.01},
        "hashing": {"files": 3, "bytes": 300, "seconds": 0.05},
    }
    block = timings.report(stats, {"files": 0, "bytes": 0, "seconds": 0.0, "cache_hits": 4})
    rows = block["phases"]
    assert list(rows) == list(PHASES)
    assert rows["remote scan"]["remote"] == 0.4 and rows["transfer"]["remote"] == 0.5
    assert rows["promote"]["remote"] == 0.2 and rows["compare (other)"]["remote"] == 0.01
    assert rows["start-up"]["remote"] == 0.04 and rows["ssh connect+auth"]["local"] == 0.25
    assert block["round_trips"] == 7 and block["hashing"]["remote"]["bytes"] == 300
    assert rows["connect (waited)"]["local"] == 2 and block["total"] == pytest.approx(
        2 + (timings.startup or 0.0), abs=1e-3
    )
    shown = render(block)
    assert "remote scan" in shown and "4 cache hit(s)" in shown and "round trips       7" in shown
    assert "verify" not in shown  # rows where neither side spent time are left out


def test_process_age_counts_from_the_process_start() -> None:
    """A child that sleeps 0.3 s before asking is at least that old (Linux /proc; 10 ms ticks)."""
    probe = (
        "import time; time.sleep(0.3); from usr_harness.sync.timings import process_age; print(process_age())"
    )
    shown = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    age = float(shown.stdout)
    assert 0.29 <= age < 10.0
    assert process_age() is not None


def test_the_audit_write_is_added_to_a_block_after_the_audit_was_written() -> None:
    clock = Clock()
    timings = Timings(clock)
    block = timings.report()
    assert with_audit_write(block, timings) is block
    with timings.span("audit write"):
        clock.now += 0.5
    shown = with_audit_write(block, timings)
    assert shown["phases"]["audit write"]["local"] == 0.5
    assert shown["total"] == pytest.approx(block["total"] + 0.5)
    assert block["phases"]["audit write"]["local"] is None
