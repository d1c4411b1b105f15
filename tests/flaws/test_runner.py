"""Which drills a flaw runs: its declared ones (narrowed by its -k), or all of drills/ on request."""

from __future__ import annotations

from pathlib import Path

from usr_harness.flaws.catalogue import Flaw
from usr_harness.flaws.runner import FlawRunConfig, selection

FLAW = Flaw("f", "a bug", "plan", ("drills/test_a.py::x", "drills/test_b.py"), Path("f.patch"))
CONFIG = FlawRunConfig(root=Path("."), run_dir=Path("r"))


def test_the_declared_drills_run_by_default_with_the_flaws_own_k():
    assert selection(FLAW, CONFIG) == ["drills/test_a.py::x", "drills/test_b.py"]
    narrowed = Flaw("f", "a bug", "plan", FLAW.drills, FLAW.patch, k="not slow")
    assert selection(narrowed, CONFIG) == ["drills/test_a.py::x", "drills/test_b.py", "-k", "not slow"]


def test_all_drills_or_an_expression_over_them_replace_the_declared_ones():
    assert selection(FLAW, FlawRunConfig(root=Path("."), run_dir=Path("r"), all_drills=True)) == ["drills"]
    chosen = FlawRunConfig(root=Path("."), run_dir=Path("r"), drills="locks")
    assert selection(FLAW, chosen) == ["drills", "-k", "locks"]
