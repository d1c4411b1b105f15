"""The flaw catalogue: every patch has a well-formed header, names drills that exist, and applies
to the current tree; the header parser refuses every malformed field by name."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from usr_harness.errors import UsageError
from usr_harness.flaws.catalogue import AREAS, load_catalogue, parse_header
from usr_harness.flaws.variant import PACKAGE, VariantError, apply_patch

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "fixtures" / "flaws"
GOOD = "# flaw: a bug | area: plan | drills: drills/test_locks.py"


@pytest.fixture(scope="module")
def package_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tree")
    shutil.copytree(PACKAGE, folder / "usr_harness", ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def test_the_catalogue_holds_at_least_25_flaws_over_every_area():
    flaws = load_catalogue(CATALOGUE)
    assert len(flaws) >= 25
    assert {flaw.area for flaw in flaws} == set(AREAS)


@pytest.mark.parametrize("patch", sorted(CATALOGUE.glob("*.patch")), ids=lambda p: p.stem)
def test_each_patch_applies_to_the_current_tree_and_names_existing_drills(patch: Path, package_copy: Path):
    flaw = load_catalogue(CATALOGUE, [patch.stem])[0]
    apply_patch(package_copy, patch, check=True)
    for drill in flaw.drills:
        assert (ROOT / drill.split("::")[0]).is_file(), f"{flaw.name}: {drill} is not a drill file"
    text = patch.read_text(encoding="utf-8")
    assert text.count("\ndiff --git ") == 1, f"{flaw.name}: one flaw, one file"


def test_a_patch_that_does_not_apply_is_a_named_error(tmp_path: Path, package_copy: Path):
    patch = tmp_path / "stale.patch"
    patch.write_text(
        GOOD + "\ndiff --git a/usr_harness/errors.py b/usr_harness/errors.py\n"
        "--- a/usr_harness/errors.py\n+++ b/usr_harness/errors.py\n@@ -1,1 +1,1 @@\n-no such line\n+x\n"
    )
    with pytest.raises(VariantError, match="git apply"):
        apply_patch(package_copy, patch, check=True)


def test_a_good_header_is_read_field_by_field(tmp_path: Path):
    line = "# flaw: lock shared | area: locks | drills: drills/a.py::t drills/b.py | k: not slow | blind: i32"
    flaw = parse_header("x", line, tmp_path / "x.patch")
    assert (flaw.summary, flaw.area, flaw.drills, flaw.k) == (
        "lock shared",
        "locks",
        ("drills/a.py::t", "drills/b.py"),
        "not slow",
    )
    assert flaw.excused == "blind spot: i32"


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("flaw: a | area: plan | drills: drills/a.py", "first line"),
        ("# flaw: a | area: nowhere | drills: drills/a.py", "area"),
        ("# flaw: a | area: plan", "no drills"),
        ("# flaw: a | area: plan | drills: tests/a.py", "under drills/"),
        ("# flaw: a | area: plan | drills: drills/a.py | colour: red", "bad header field"),
        ("# flaw: a | area: plan | area: plan | drills: drills/a.py", "twice"),
        ("# flaw:  | area: plan | drills: drills/a.py", "names no flaw"),
        ("# flaw: a | area: plan | drills: drills/a.py | blind: x | equivalent: y", "exclude"),
    ],
)
def test_a_malformed_header_is_refused_by_name(line: str, says: str, tmp_path: Path):
    with pytest.raises(UsageError, match=says):
        parse_header("x", line, tmp_path / "x.patch")


def test_an_unknown_flaw_name_is_refused(tmp_path: Path):
    (tmp_path / "one.patch").write_text(GOOD + "\n")
    with pytest.raises(UsageError, match="unknown flaw"):
        load_catalogue(tmp_path, ["two"])
    with pytest.raises(UsageError, match="no flaw catalogue"):
        load_catalogue(tmp_path / "missing")
