"""The plan's own rules: how problems are summed up, refused entries, and a divergence's verb."""

from __future__ import annotations

from usr_harness.sync.inventory.manifest import FileEntry, Manifest
from usr_harness.sync.plan.model import Plan, Problem, diverged, refused_entry, unchanged_since


def test_first_failure_counts_the_other_problems_of_its_family() -> None:
    plan = Plan("pull", problems=[Problem("diverged", "first", "a")])
    assert plan.first_failure() == ("diverged", "first", ["a"])
    plan.problems.append(Problem("diverged", "second", "b"))
    assert plan.first_failure() == ("diverged", "first (and 1 more diverged problem(s))", ["a", "b"])
    plan.problems.append(Problem("diverged", "third", "c"))
    assert plan.first_failure() == ("diverged", "first (and 2 more diverged problem(s))", ["a", "b", "c"])


def test_a_refused_entry_is_corruption_and_names_its_path() -> None:
    side = Manifest("remote", True)
    link = FileEntry("_derived/ns/x.parquet", "derived", "symlink", 3)
    problem = refused_entry("sidecars", side, link)
    assert problem == Problem(
        "sidecars", "remote symlink entry '_derived/ns/x.parquet' refused", link.path, corruption=True
    )
    odd = FileEntry("bad\nname", "derived", "file", 3, unsafe="name with a newline")
    assert refused_entry("sidecars", side, odd).message == "remote name with a newline; refused"


def test_a_refused_deletion_says_delete() -> None:
    plan = Plan("push")
    diverged(plan, "meta.md", "why", copy=False, force=False)
    assert plan.problems[0].message == "why; refusing to delete it (use --force to override)"


def test_only_a_regular_file_can_be_unchanged_since_the_base() -> None:
    link = FileEntry("meta.md", "meta", "symlink", 3)
    assert not unchanged_since(link, {"size": 3})
    assert unchanged_since(FileEntry("meta.md", "meta", "file", 3), {"size": 3})
