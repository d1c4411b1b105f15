"""Seeded mock data: core records, DenseGen/Infer-like overlay batches and iterative HPC rounds.

Hypothesis strategies live in `usr_harness.mock.strategies` (imported on demand).
"""

from usr_harness.mock.batch import MockBatch, ensure_overlay_namespaces
from usr_harness.mock.overlays import DENSEGEN, INFER, OVERLAYS, OverlaySpec, overlay_batch, overlay_spec
from usr_harness.mock.provenance import Provenance, provenance
from usr_harness.mock.records import mock_records
from usr_harness.mock.series import BatchSeries, RoundResult

__all__ = [
    "DENSEGEN",
    "INFER",
    "OVERLAYS",
    "BatchSeries",
    "MockBatch",
    "OverlaySpec",
    "Provenance",
    "RoundResult",
    "ensure_overlay_namespaces",
    "mock_records",
    "overlay_batch",
    "overlay_spec",
    "provenance",
]
