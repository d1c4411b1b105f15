"""The typed cycle context: a step that needs what host-up makes says so instead of crashing on None."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import pytest

from usr_harness.cycle.context import CycleConfig, CycleContext


def test_a_context_before_host_up_has_no_engine_nor_roots(tmp_path: Path) -> None:
    context = CycleContext(CycleConfig(run_dir=tmp_path), ExitStack())
    with pytest.raises(RuntimeError, match="preflight:host-up"):
        context.require_engine()
    with pytest.raises(RuntimeError, match="preflight:host-up"):
        context.roots()
    assert context.evidence_dir == tmp_path / "evidence" and context.evidence_dir.is_dir()
