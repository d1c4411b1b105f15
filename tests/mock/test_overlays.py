"""Overlay batches carry exactly their registered columns and come from the seed alone."""

from __future__ import annotations

import pytest

from usr_harness.dataset.registry import COLUMN_TYPES
from usr_harness.mock.overlays import DENSEGEN, INFER, OVERLAYS, overlay_batch, overlay_spec
from usr_harness.mock.provenance import provenance


@pytest.mark.parametrize("namespace", sorted(OVERLAYS))
def test_batch_matches_its_registration(namespace: str) -> None:
    spec = overlay_spec(namespace)
    ids = [f"{i:040x}" for i in range(50)]
    part = overlay_batch(4, namespace, ids)
    assert part.column_names == ["id", *spec.column_names]
    assert part.column("id").to_pylist() == ids
    for name, type_name in spec.columns:
        assert part.schema.field(name).type == COLUMN_TYPES[type_name]
        assert part.column(name).null_count == 0
    assert part.equals(overlay_batch(4, namespace, ids))
    assert not part.equals(overlay_batch(5, namespace, ids))


def test_producer_shapes() -> None:
    assert ("densegen__score", "float64") in DENSEGEN.columns
    assert ("densegen__motif_hits", "list<float64>") in DENSEGEN.columns
    assert ("infer__llr", "float64") in INFER.columns
    assert ("infer__logits", "list<float64>") in INFER.columns
    assert all(
        name.startswith(f"{spec.namespace}__") for spec in OVERLAYS.values() for name in spec.column_names
    )


def test_unknown_overlay_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown mock overlay"):
        overlay_spec("ghost")


def test_provenance_is_seeded() -> None:
    assert provenance(9) == provenance(9)
    assert provenance(9) != provenance(10)
    made = provenance(9, "densegen")
    assert made.source.startswith("densegen:") and made.run_id and made.operator and made.host
