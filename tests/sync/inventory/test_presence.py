"""The message of a dataset id neither side holds: the remote's ids, closest first, capped."""

from __future__ import annotations

from pathlib import Path

from usr_harness.sync.inventory.presence import SHOWN, absent_message


def test_the_closest_id_comes_first_and_is_suggested() -> None:
    message = absent_message("densegen_dem", "hpc", Path("/data"), ["alpha", "densegen_demo", "zeta"], 3)
    assert message == (
        "densegen_dem: no dataset 'densegen_dem' on either side (local root '/data', remote hpc); "
        "remote hpc has 3 datasets: densegen_demo, alpha, zeta; did you mean 'densegen_demo'?"
    )


def test_a_long_listing_is_capped_and_counts_the_rest() -> None:
    ids = [f"set{i:03d}" for i in range(40)]
    message = absent_message("zzz", "hpc", Path("/data"), ids, 1200)
    assert message.endswith(f"{', '.join(ids[:SHOWN])} (and {1200 - SHOWN} more)")


def test_an_empty_remote_says_so() -> None:
    message = absent_message("demo", "hpc", Path("/data"), [], 0)
    assert message.endswith("; remote hpc holds no datasets")
