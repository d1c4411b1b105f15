"""Seeded provenance text (source labels, run ids, operators, hosts) so mock batches read like real runs."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from faker import Faker


@lru_cache(maxsize=1)
def _faker() -> Faker:
    return Faker("en_US")


@dataclass(frozen=True)
class Provenance:
    """Who produced a batch, where and under which run: the text an HPC job would stamp on its output."""

    source: str
    run_id: str
    operator: str
    host: str

    def as_dict(self) -> dict[str, str]:
        return {"source": self.source, "run_id": self.run_id, "operator": self.operator, "host": self.host}


def provenance(seed: int, producer: str = "mock") -> Provenance:
    """The same `seed` always yields the same names; Faker is reseeded on every call."""
    fake = _faker()
    fake.seed_instance(seed)
    run_id = fake.hexify("^" * 12)
    operator = fake.user_name()
    host = f"{fake.domain_word()}-{fake.random_int(1, 64):02d}.hpc.{fake.domain_name()}"
    source = f"{producer}:{fake.slug()}:{run_id[:6]}"
    return Provenance(source=source, run_id=run_id, operator=operator, host=host)
