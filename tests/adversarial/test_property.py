"""Random perturbations of a valid part: accepted and still strictly valid, or cleanly rejected."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings

from tests.adversarial.conftest import DATASET, copy_root
from usr_harness.adversarial.perturb import Perturbed, perturbed_overlays
from usr_harness.adversarial.runner import derived_digest, tree_digest
from usr_harness.dataset import Dataset
from usr_harness.dataset.layout import RECORDS_FILE
from usr_harness.errors import FAMILY_BY_NAME, UsrError


def restore(work: Path, template: Path, before: dict[str, str]) -> None:
    """Put `work` back to `template` file by file (cheaper than a fresh copy per example)."""
    after = tree_digest(work)
    for relative in after.keys() - before.keys():
        (work / relative).unlink()
    for relative, digest in before.items():
        if after.get(relative) != digest:
            shutil.copy2(template / relative, work / relative)


def test_perturbed_parts_are_accepted_valid_or_rejected_cleanly(template_root: Path, tmp_path: Path) -> None:
    """Rejections must leave `_derived` (indeed the whole dataset) byte-identical; after an acceptance
    the working copy is put back to the template before the next example."""
    template = template_root / DATASET
    ids = pq.read_table(template / RECORDS_FILE, columns=["id"]).column("id").to_pylist()
    root = copy_root(template_root, tmp_path / "work")
    work = root / DATASET
    pristine = tree_digest(template)
    derived_before = derived_digest(template)

    @settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck))
    @given(perturbed_overlays(ids[:10]))
    def attach_one(part: Perturbed) -> None:
        try:
            Dataset.open(root, DATASET).attach(part.table, namespace=part.namespace, key=part.key)
        except UsrError as error:
            assert error.family in FAMILY_BY_NAME, part.steps
            assert derived_digest(work) == derived_before, part.steps
            assert tree_digest(work) == pristine, part.steps
            return
        try:
            Dataset.open(root, DATASET).validate(strict=True)
        finally:
            restore(work, template, pristine)
            assert tree_digest(work) == pristine

    attach_one()
