"""The adversarial catalogue's import, namespace, validate --strict and pull cases, each through the
engine's own command line (drill 3 of the fidelity runbook drives the attach cases)."""

from __future__ import annotations

import pytest

from usr_harness.adversarial.catalogue import CATALOGUE

from .conftest import Sync
from .hostile_cases import drive_case

pytestmark = [pytest.mark.drill, pytest.mark.adversarial, pytest.mark.enforces("H-hostile-input")]
CASES = [case for case in CATALOGUE if case.entry_point != "attach"]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_case_draws_its_declared_outcome(sync: Sync, case):
    problems = drive_case(sync, case)
    assert not problems, "\n".join(problems)
