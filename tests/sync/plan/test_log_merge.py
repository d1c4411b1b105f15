"""Merging two event logs that both grew from the log of the last sync (pure)."""

from __future__ import annotations

import hashlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from usr_harness.errors import EventsError
from usr_harness.sync.plan.log_merge import merge_logs


def line(n: int, who: str) -> bytes:
    return json.dumps({"event_version": 1, "action": "attach", "n": n, "who": who}).encode() + b"\n"


def base_of(log: bytes) -> dict:
    return {"sha256": hashlib.sha256(log).hexdigest(), "size": len(log)}


SHARED = line(0, "hpc") + line(1, "hpc")


def test_the_remote_lines_come_first_then_this_sides_every_line_kept():
    local, remote = SHARED + line(2, "laptop-b"), SHARED + line(2, "laptop-a") + line(3, "laptop-a")
    merged = merge_logs(base_of(SHARED), local, remote, dataset="demo")
    assert merged.data == SHARED + line(2, "laptop-a") + line(3, "laptop-a") + line(2, "laptop-b")
    assert (merged.shared_lines, merged.remote_lines, merged.local_lines) == (2, 2, 1)
    assert merged.data.startswith(remote)


@pytest.mark.parametrize(
    ("local", "remote"), [(SHARED, SHARED), (SHARED, SHARED + line(2, "a")), (SHARED + line(2, "b"), SHARED)]
)
def test_a_log_that_already_extends_the_other_needs_no_merge(local, remote):
    assert merge_logs(base_of(SHARED), local, remote, dataset="demo") is None


def test_without_a_base_nothing_can_be_told_new():
    with pytest.raises(EventsError, match="no last sync recorded"):
        merge_logs(None, SHARED + line(2, "b"), SHARED + line(2, "a"), dataset="demo")


@pytest.mark.parametrize("side", ["local", "remote"])
def test_a_side_that_rewrote_the_shared_log_is_refused(side):
    rewritten = line(0, "forged") + line(1, "hpc") + line(2, side)
    other = SHARED + line(2, "other")
    local, remote = (rewritten, other) if side == "local" else (other, rewritten)
    with pytest.raises(EventsError, match=f"{side} .events.log does not start with the log of the last sync"):
        merge_logs(base_of(SHARED), local, remote, dataset="demo")


def test_an_invalid_log_is_refused_before_anything_is_merged():
    with pytest.raises(EventsError, match=r"remote demo/\.events\.log: line 3"):
        merge_logs(base_of(SHARED), SHARED + line(2, "b"), SHARED + b"not json\n", dataset="demo")


LINES = st.lists(st.integers(0, 50), max_size=5).map(lambda ns: b"".join(line(n, "x") for n in ns))


@settings(max_examples=100, deadline=None)
@given(shared=LINES, mine=LINES, theirs=LINES)
def test_a_merge_keeps_every_line_and_extends_the_remote_log(shared, mine, theirs):
    local, remote = shared + mine, shared + theirs
    merged = merge_logs(base_of(shared), local, remote, dataset="demo")
    if merged is None:
        assert local.startswith(remote) or remote.startswith(local)
        return
    assert merged.data.startswith(remote), "the merged log must extend the remote's, which is never rewritten"
    assert sorted(merged.data.splitlines()) == sorted((shared + theirs + mine).splitlines())
    assert merged.data.endswith(mine)
