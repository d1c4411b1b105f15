"""`--timings` over the real loopback sshd: every phase a pull or push meets is timed on its side."""

from __future__ import annotations

import pytest

from tests.usr_sides import DATASET, Sides, make_dataset

pytestmark = pytest.mark.ssh


def test_a_pull_and_a_push_time_both_sides_and_print_the_breakdown(sides: Sides) -> None:
    make_dataset(sides.remote_root)
    pulled = sides.usr("pull", DATASET, "loopback", "-y", "--timings")
    assert pulled.code == 0, pulled.err
    block = pulled.audit["timings"]
    rows = block["phases"]
    for name in ("start-up", "ssh connect+auth", "agent start", "local scan", "remote scan", "plan"):
        assert rows[name]["local"] is not None, name
    for name in ("transfer", "verify", "promote", "post-verify"):
        assert rows[name]["local"] > 0, name
    assert rows["start-up"]["remote"] > 0 and rows["remote scan"]["remote"] > 0
    assert block["hashing"]["remote"]["files"] > 0 and block["round_trips"] >= 4
    assert "Timings (wall seconds" in pulled.err and "audit write" in pulled.err
    assert "Timings" not in pulled.out

    pushed = sides.usr("push", DATASET, "loopback", "-y")
    assert pushed.code == 0 and "Timings" not in pushed.err
    rows = pushed.audit["timings"]["phases"]
    assert pushed.audit["data"]["transfer_state"] == "NO-OP"
    assert rows["transfer"]["local"] is None and rows["remote scan"]["remote"] > 0
