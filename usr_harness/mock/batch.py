"""One seeded mock batch (records, overlay parts, provenance) and how it lands in a dataset."""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pyarrow as pa

from usr_harness.dataset import Dataset
from usr_harness.dataset.registry import load_registry, register_namespace, registry_path
from usr_harness.mock.overlays import OVERLAYS, overlay_batch, overlay_spec
from usr_harness.mock.provenance import Provenance, provenance
from usr_harness.mock.records import mock_records
from usr_harness.mock.seeding import derive_seed


@dataclass(frozen=True)
class MockBatch:
    """What one producer run hands over: new records, one part per overlay namespace, and who made them."""

    seed: int
    records: pa.Table
    provenance: Provenance
    overlays: Mapping[str, pa.Table] = field(default_factory=dict)

    @classmethod
    def generate(
        cls,
        seed: int,
        n: int,
        *,
        overlays: Iterable[str] = tuple(OVERLAYS),
        bio_type: str = "dna",
        length_range: tuple[int, int] = (40, 120),
        alphabet: str | None = None,
        start: datetime | None = None,
    ) -> MockBatch:
        """`n` records and a part per namespace over all of them, every value fixed by `seed`."""
        prov = provenance(derive_seed(seed, "provenance"))
        records = mock_records(
            seed,
            n,
            bio_type=bio_type,
            length_range=length_range,
            alphabet=alphabet,
            source=prov.source,
            start=start,
        )
        parts = {ns: overlay_batch(seed, ns, records.column("id")) for ns in overlays}
        return cls(seed=seed, records=records, provenance=prov, overlays=parts)

    def apply(self, dataset: Dataset) -> list[Path]:
        """Import the records, then attach every overlay part; returns the written part paths."""
        dataset.import_rows(self.records, source=self.provenance.source)
        return [dataset.attach(part, namespace=ns) for ns, part in self.overlays.items()]


def ensure_overlay_namespaces(root: Path, namespaces: Iterable[str]) -> None:
    """Register each mock producer's namespace once; an existing registration is left as it is.

    A root that already registered e.g. `densegen` with other columns keeps them, and mock parts
    for it are then refused by attach: the registry is the contract, the mock adapts to nothing.
    """
    registered = load_registry(root).namespaces
    for ns in namespaces:
        if ns in registered:
            continue
        spec = overlay_spec(ns)
        register_namespace(root, ns, list(spec.columns), owner=spec.owner, description=spec.description)


def ensure_shared_namespaces(origin: Path, clone: Path, namespaces: Iterable[str]) -> None:
    """Register `namespaces` on a clone of `origin` as the registry contract asks: one registry.yaml,
    changes synced across clones. Otherwise a strict validate rightly refuses the parts each side
    stamped with its own registry's hash."""
    shared, own = registry_path(origin), registry_path(clone)
    if shared.exists():
        shutil.copyfile(shared, own)
    ensure_overlay_namespaces(clone, namespaces)
    if shared.exists() and shared.read_bytes() != own.read_bytes():
        shutil.copyfile(own, shared)
