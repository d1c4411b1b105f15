"""Every catalogue case draws exactly its declared outcome and leaves `_derived` byte-identical."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.adversarial.conftest import DATASET
from usr_harness.adversarial.catalogue import CATALOGUE, case_by_id
from usr_harness.adversarial.model import ENTRY_POINTS, AdversarialCase
from usr_harness.adversarial.runner import ENGINE_MISSING, apply_case, derived_digest, run_case, tree_digest
from usr_harness.dataset import Dataset
from usr_harness.dataset.registry import register_namespace
from usr_harness.errors import FAMILY_BY_NAME, DatasetError, UsageError

REQUIRED = {
    "ns-upper-case",
    "ns-leading-digit",
    "ns-hyphen",
    "ns-homoglyph",
    "ns-empty",
    "ns-reserved-usr",
    "ns-reserved-usr-state",
    "attach-ns-unregistered",
    "attach-column-without-separator",
    "attach-column-shadows-core",
    "attach-drift-int-for-float",
    "attach-drift-string-for-list",
    "attach-drift-nested-struct",
    "attach-key-null",
    "attach-key-duplicate",
    "attach-key-unknown",
    "attach-key-missing",
    "attach-huge-string",
    "attach-deep-list",
    "import-bad-alphabet",
    "import-bio-type-pipe",
    "import-wrong-id",
    "import-wrong-length",
    "import-naive-timestamp",
    "import-missing-column",
    "import-extra-core-like-column",
    "part-meta-wrong-namespace",
    "part-meta-stale-registry-hash",
    "part-meta-wrong-contract-hash",
    "registry-missing-usr-state",
    "registry-duplicate-namespace",
    "registry-invalid-yaml",
    "attach-zero-rows",
    "attach-not-parquet",
}


def test_catalogue_is_well_formed_data() -> None:
    ids = [case.id for case in CATALOGUE]
    assert len(ids) == len(set(ids))
    assert set(ids) >= REQUIRED
    assert {case.entry_point for case in CATALOGUE} == set(ENTRY_POINTS)
    for case in CATALOGUE:
        assert case.description and case_by_id(case.id) is case
        assert case.expected_family is None or case.expected_family in FAMILY_BY_NAME
        assert case.expected_family is None or case.expected_token


@pytest.mark.parametrize("case", CATALOGUE, ids=lambda case: case.id)
def test_case_draws_its_declared_outcome(case: AdversarialCase, fresh_root: Path) -> None:
    if case.needs_engine:
        pytest.skip("pull cases run through the real engine in drills/test_adversarial_schemas.py")
    before = tree_digest(fresh_root)
    outcome = apply_case(case, fresh_root, DATASET)
    assert (outcome.family, outcome.matched) == (case.expected_family, True), outcome.message
    assert case.expected_token in outcome.message
    assert outcome.derived_unchanged
    assert tree_digest(fresh_root) == before, "applying a rejected case must leave the root as it was"


def test_run_case_builds_its_own_fresh_dataset(tmp_path: Path) -> None:
    outcome = run_case(case_by_id("attach-key-duplicate"), tmp_path, seed=4)
    assert outcome.matched and outcome.derived_unchanged
    assert derived_digest(tmp_path / "adversarial")


def test_apply_refuses_a_dataset_without_the_mock_contracts(tmp_path: Path) -> None:
    register_namespace(tmp_path, "densegen", [("densegen__score", "float64")])
    Dataset.init(tmp_path, "plain")
    with pytest.raises(UsageError, match="registered with the mock columns"):
        apply_case(case_by_id("attach-key-null"), tmp_path, "plain")
    with pytest.raises(DatasetError):
        apply_case(case_by_id("attach-key-null"), tmp_path, "missing")


def test_pull_cases_are_declared_but_skipped_without_an_engine(tmp_path: Path) -> None:
    pulls = [case for case in CATALOGUE if case.entry_point == "pull"]
    assert pulls and all(case.needs_engine for case in pulls)
    outcome = run_case(pulls[0], tmp_path)
    assert outcome.skipped == ENGINE_MISSING and not outcome.matched
    assert not any(tmp_path.iterdir())


def test_pull_cases_plant_their_input_on_the_remote_copy(fresh_root: Path, tmp_path: Path) -> None:
    remote = tmp_path / "remote"
    local_before = derived_digest(fresh_root / DATASET)
    seen: list[dict[str, str]] = []

    def puller(root: Path, dataset_id: str, remote_root: Path) -> None:
        seen.append(derived_digest(remote_root / dataset_id))

    outcome = apply_case(
        case_by_id("pull-part-not-parquet"), fresh_root, DATASET, remote_root=remote, puller=puller
    )
    assert len(seen[0]) == len(local_before) + 1
    assert derived_digest(fresh_root / DATASET) == local_before
    assert outcome.family is None and not outcome.matched
