"""A variant is a patched copy of the package that the engine command really imports."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from usr_harness.engines import load_profile
from usr_harness.flaws.variant import VariantError, build_variant

ROOT = Path(__file__).resolve().parents[2]
MARKER = "FLAWED_COPY = True"
TARGET = "usr_harness/errors.py"


def _patch(tmp_path: Path, anchor: str | None = None) -> Path:
    """One line added at the end of errors.py, after its last line (or after `anchor`, which must
    be that last line for the patch to apply)."""
    lines = (ROOT / TARGET).read_text(encoding="utf-8").splitlines()
    at, anchor = len(lines), lines[-1] if anchor is None else anchor
    patch = tmp_path / "marker.patch"
    patch.write_text(
        "# flaw: a marker | area: plan | drills: drills/test_locks.py\n"
        f"diff --git a/{TARGET} b/{TARGET}\n--- a/{TARGET}\n+++ b/{TARGET}\n"
        f"@@ -{at},1 +{at},2 @@\n {anchor}\n+{MARKER}\n",
        encoding="utf-8",
    )
    return patch


def test_the_patched_copy_is_what_the_engine_command_imports(tmp_path: Path):
    variant = build_variant(_patch(tmp_path), tmp_path / "copy", sys.executable, ROOT)
    assert MARKER in (tmp_path / "copy" / TARGET).read_text(encoding="utf-8")
    assert MARKER not in (ROOT / TARGET).read_text(encoding="utf-8")
    profile = load_profile(variant.profile)
    assert profile.command == f"{sys.executable} -P -m usr_harness.cli.usr"
    assert yaml.safe_load(variant.profile.read_text())["env"]["PYTHONPATH"] == str(tmp_path / "copy")
    assert "family-exit-codes" in profile.capabilities


def test_a_patch_that_does_not_apply_builds_no_variant(tmp_path: Path):
    with pytest.raises(VariantError, match="git apply"):
        build_variant(_patch(tmp_path, anchor="no such line"), tmp_path / "copy", sys.executable, ROOT)
