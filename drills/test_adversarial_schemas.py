"""The adversarial catalogue through every entry point, the pull of a hostile remote included."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from usr_harness.adversarial.catalogue import CATALOGUE
from usr_harness.adversarial.runner import run_case
from usr_harness.errors import FAMILY_BY_NAME, UsrError
from usr_harness.pytest_plugin import DrillRemote, make_drill_engine

from .conftest import REMOTE, Sync

pytestmark = [pytest.mark.drill, pytest.mark.adversarial, pytest.mark.enforces("H-hostile-input")]


def _engine_puller(sync: Sync, options: pytest.Config, workdir: Path):
    """Pull through the engine under test from a remote whose base_dir is the case's remote root."""

    def pull(root: Path, dataset_id: str, remote_root: Path) -> None:
        remote = DrillRemote(sync.remote.spec.changed(base_dir=remote_root))
        engine = make_drill_engine(options, root, remote, workdir)
        result = engine.pull(dataset_id, REMOTE)
        sync.record.add_evidence("pull", result.evidence())
        if not result.ok:
            raise FAMILY_BY_NAME.get(result.family or "", UsrError)(result.message.strip())

    return pull


@pytest.mark.parametrize("case", CATALOGUE, ids=lambda c: c.id)
def test_case_draws_its_declared_outcome(sync: Sync, case, tmp_path: Path, request: pytest.FixtureRequest):
    if not case.needs_engine:
        sync.require("harness-dataset-layer")
    remote_root = sync.remote_root / "hostile"
    remote_root.mkdir()
    puller = _engine_puller(sync, request.config, tmp_path / "engine")
    outcome = run_case(
        case, tmp_path / "local", seed=sync.record.seed, remote_root=remote_root, puller=puller
    )
    sync.record.add_evidence("outcome", dataclasses.asdict(outcome))
    assert outcome.skipped is None, outcome.skipped
    assert outcome.matched, outcome
    assert outcome.derived_unchanged
