"""One prepared valid dataset per session; each test works on its own copy of it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from usr_harness.adversarial.runner import prepare_dataset

DATASET = "adversarial"


@pytest.fixture(scope="session")
def template_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("adversarial-template")
    prepare_dataset(root, DATASET, seed=0)
    return root


def copy_root(template: Path, target: Path) -> Path:
    shutil.copytree(template, target, symlinks=True)
    return target


@pytest.fixture
def fresh_root(template_root: Path, tmp_path: Path) -> Path:
    return copy_root(template_root, tmp_path / "root")
