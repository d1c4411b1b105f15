"""Which cut points a sweep checks, how a failure reads, and the report fragment: pure logic, no FUSE."""

from __future__ import annotations

from usr_harness.powercut import Op, OpKind, Policy
from usr_harness.powercut.html import render_fragment
from usr_harness.powercut.sweep import CutRange, coverage, cut_ranges, failure_message, sample_ranges

ROOT = 0


def _ops() -> list[Op]:
    """create, write, fsync the file, then sync the root: under strict only the syncs start a new range."""
    return [
        Op(OpKind.CREATE, path="/t"),
        Op(OpKind.WRITE, path="/t", node=1, data=b"new"),
        Op(OpKind.FSYNC, path="/t", node=1),
        Op(OpKind.RENAME, path="/t", path2="/a"),
        Op(OpKind.FSYNC, path="/", node=ROOT),
    ]


def test_cut_points_between_two_syncs_are_one_range() -> None:
    ranges = cut_ranges({"a": b"old"}, _ops(), Policy.STRICT)
    assert [(cut.first_k, cut.last_k) for cut in ranges] == [(0, 2), (3, 4), (5, 5)]
    assert coverage(ranges, 5) == {
        "operations": 5,
        "cut_points": 6,
        "cut_points_checked": 6,
        "states_checked": 3,
    }


def test_names_ahead_of_data_has_more_states() -> None:
    ranges = cut_ranges({"a": b"old"}, _ops(), Policy.METADATA_AHEAD)
    assert len(ranges) > 3 and ranges[-1].last_k == 5


def test_a_sample_is_seeded_sorted_and_keeps_the_last_range() -> None:
    ranges = [CutRange(k, k) for k in range(50)]
    sample = sample_ranges(ranges, 10, seed=7)
    assert len(sample) == 10 and sample[-1] is ranges[-1]
    assert [cut.first_k for cut in sample] == sorted(cut.first_k for cut in sample)
    assert [cut.first_k for cut in sample_ranges(ranges, 10, seed=7)] == [cut.first_k for cut in sample]
    assert sample_ranges(ranges, None, seed=7) == ranges
    assert sample_ranges(ranges[:5], 10, seed=7) == ranges[:5]


def test_a_failure_names_the_cut_the_operations_before_it_and_the_reproduce_line() -> None:
    ops = _ops()
    failed = [CutRange(0, 4, "the next pull failed: lost records.parquet"), CutRange(5, 5, "torn")]
    message = failure_message(Policy.STRICT, ops, failed, "pytest drills/x.py")
    lines = message.splitlines()
    assert lines[0] == (
        "power cut after operation 0 of 5 (the same state as cuts 0..4) (strict): "
        "the next pull failed: lost records.parquet"
    )
    assert "1 more failing cut ranges:" in lines and "5..5: torn" in lines
    assert lines[-1] == "reproduce: pytest drills/x.py"
    final = failure_message(Policy.STRICT, ops, [CutRange(3, 5, "lost")], "r")
    assert final.startswith("power cut after operation 5 of 5") and "  5: fsync /" in final


def test_the_fragment_shows_each_cut_and_escapes_what_engines_said() -> None:
    report = {
        "direction": "pull",
        "dataset": "demo",
        "policy": "strict",
        "states_checked": 2,
        "cut_points_checked": 6,
        "cut_points": 6,
        "operations": ["create /<t>"],
        "cuts": [
            CutRange(0, 4, None, {"version": "old"}).as_dict(),
            CutRange(5, 5, "lost <a>", {"version": "torn"}).as_dict(),
        ],
    }
    html = render_fragment(report)
    assert html.startswith('<section class="power-loss">')
    assert '<tr class="pass"><td>0..4</td><td>pass</td><td>old</td>' in html
    assert '<tr class="fail"><td>5</td><td>fail</td><td>torn</td><td>lost &lt;a&gt;</td>' in html
    assert "<li>create /&lt;t&gt;</li>" in html and "1 failing" in html
