"""Independent, reproducible random streams per (seed, purpose), so adding one stream never shifts another."""

from __future__ import annotations

import hashlib

import numpy as np


def derive_seed(seed: int, *labels: object) -> int:
    """A 63-bit seed fixed by `seed` and `labels` (stable across processes, unlike `hash()`)."""
    text = "|".join([str(seed), *(str(label) for label in labels)])
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big") >> 1


def derive_rng(seed: int, *labels: object) -> np.random.Generator:
    return np.random.default_rng(derive_seed(seed, *labels))
