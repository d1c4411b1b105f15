"""Hostile inputs with known verdicts: the adversarial catalogue, its runner and random perturbations."""

from usr_harness.adversarial.catalogue import CATALOGUE, case_by_id
from usr_harness.adversarial.model import ENTRY_POINTS, AdversarialCase, CaseEnv, CaseOutcome, HostileInput
from usr_harness.adversarial.runner import apply_case, prepare_dataset, run_case

__all__ = [
    "CATALOGUE",
    "ENTRY_POINTS",
    "AdversarialCase",
    "CaseEnv",
    "CaseOutcome",
    "HostileInput",
    "apply_case",
    "case_by_id",
    "prepare_dataset",
    "run_case",
]
