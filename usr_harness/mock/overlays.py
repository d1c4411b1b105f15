"""Overlay batches shaped like the producers the runbooks chain: DenseGen (scores, motifs) and Infer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from usr_harness.mock.seeding import derive_rng

Columns = tuple[tuple[str, str], ...]
Builder = Callable[[np.random.Generator, int], list[pa.Array]]


def _float_lists(rng: np.random.Generator, n: int, low: int, high: int, scale: float) -> pa.ListArray:
    """`n` float64 vectors with lengths uniform in [low, high], built from two flat buffers."""
    lengths = rng.integers(low, high + 1, size=n, dtype=np.int32)
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    values = rng.normal(0.0, scale, size=int(offsets[-1]))
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(values, pa.float64()))


def _labels(rng: np.random.Generator, n: int, choices: tuple[str, ...]) -> pa.Array:
    picks = pa.array(rng.integers(0, len(choices), size=n, dtype=np.int32))
    return pa.DictionaryArray.from_arrays(picks, pa.array(choices, pa.string())).cast(pa.string())


def _densegen(rng: np.random.Generator, n: int) -> list[pa.Array]:
    return [
        pa.array(rng.gamma(2.0, 1.5, size=n), pa.float64()),
        _float_lists(rng, n, 0, 12, 1.0),
        pa.array(rng.integers(0, 40, size=n, dtype=np.int64), pa.int64()),
        _labels(rng, n, ("sigma70_core", "lexA_panel", "tetR_mixed", "cpxR_sweep")),
    ]


def _infer(rng: np.random.Generator, n: int) -> list[pa.Array]:
    llr = rng.normal(-1.0, 2.0, size=n)
    return [
        pa.array(llr, pa.float64()),
        _float_lists(rng, n, 4, 4, 3.0),
        _labels(rng, n, ("evo2_7b", "evo2_40b", "esm2_650m")),
        pa.array(llr > 0.0, pa.bool_()),
    ]


@dataclass(frozen=True)
class OverlaySpec:
    """One producer's namespace: its registration (owner, description, typed columns) and its generator."""

    namespace: str
    owner: str
    description: str
    columns: Columns
    build: Builder

    @property
    def column_names(self) -> list[str]:
        return [name for name, _ in self.columns]


DENSEGEN = OverlaySpec(
    namespace="densegen",
    owner="densegen",
    description="DenseGen design run: library scores and motif hit vectors",
    columns=(
        ("densegen__score", "float64"),
        ("densegen__motif_hits", "list<float64>"),
        ("densegen__n_sites", "int64"),
        ("densegen__library", "string"),
    ),
    build=_densegen,
)

INFER = OverlaySpec(
    namespace="infer",
    owner="infer",
    description="Infer scoring run: log-likelihood ratios and per-class logits",
    columns=(
        ("infer__llr", "float64"),
        ("infer__logits", "list<float64>"),
        ("infer__model", "string"),
        ("infer__passed", "bool"),
    ),
    build=_infer,
)

OVERLAYS: dict[str, OverlaySpec] = {spec.namespace: spec for spec in (DENSEGEN, INFER)}


def overlay_spec(namespace: str) -> OverlaySpec:
    try:
        return OVERLAYS[namespace]
    except KeyError:
        raise ValueError(f"unknown mock overlay {namespace!r}; choose from {', '.join(OVERLAYS)}") from None


def overlay_batch(seed: int, namespace: str, ids: pa.Array | pa.ChunkedArray | list[str]) -> pa.Table:
    """A part for `namespace` keyed on `id`, one row per id, values drawn from `seed` alone."""
    spec = overlay_spec(namespace)
    if isinstance(ids, pa.ChunkedArray):
        keys = ids.combine_chunks()
    else:
        keys = ids if isinstance(ids, pa.Array) else pa.array(ids, pa.string())
    rng = derive_rng(seed, "overlay", spec.namespace)
    arrays = spec.build(rng, len(keys))
    return pa.Table.from_arrays([keys, *arrays], names=["id", *spec.column_names])
