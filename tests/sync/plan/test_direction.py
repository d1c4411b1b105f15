"""Which side is ahead of the last sync (pure): one changed side is ahead, two have diverged."""

from __future__ import annotations

from usr_harness.sync.inventory.manifest import FileEntry, Manifest
from usr_harness.sync.plan.direction import advice, changed_since, direction


def side(name: str, **files: str) -> Manifest:
    entries = {path: FileEntry(path, "auxiliary", "file", 1, sha256=digest) for path, digest in files.items()}
    return Manifest(name, exists=bool(files), files=entries)


BASE = {"a": {"sha256": "1", "size": 1}, "b": {"sha256": "2", "size": 1}}


def test_one_changed_side_is_ahead_two_have_diverged() -> None:
    same = side("local", a="1", b="2")
    assert direction(same, side("remote", a="1", b="2"), BASE, changed=False) == "up-to-date"
    assert (
        direction(side("local", a="1", b="2", c="3"), side("remote", a="1", b="2"), BASE, True)
        == "local-ahead"
    )
    assert direction(same, side("remote", a="9", b="2"), BASE, True) == "remote-ahead"
    assert direction(side("local", a="1"), side("remote", a="1", b="2", c="3"), BASE, True) == "diverged"


def test_without_a_recorded_sync_differing_sides_have_diverged() -> None:
    assert direction(side("local", a="1"), side("remote", a="2"), None, True) == "diverged"


def test_a_dataset_one_side_lacks_is_that_sides_bootstrap() -> None:
    assert direction(side("local"), side("remote", a="1"), None, True) == "remote-only"
    assert direction(side("local", a="1"), side("remote"), BASE, True) == "local-only"


def test_changed_since_names_added_removed_and_rewritten_paths() -> None:
    assert changed_since(side("local", a="9", c="3"), BASE) == ["a", "b", "c"]


def test_the_advice_names_the_command_to_run_next():
    assert advice("up-to-date", "demo", "hpc") == "up to date: nothing to run"
    assert advice("local-ahead", "demo", "hpc") == "local is ahead: run `usr push demo hpc`"
    assert (
        advice("remote-only", "demo", "hpc")
        == "only remote hpc has demo: run `usr pull demo hpc` to bring it here"
    )
    said = advice("diverged", "demo", "hpc")
    assert said.startswith("diverged: both sides changed") and "`usr events merge demo hpc`" in said
