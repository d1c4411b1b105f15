"""Seeded core record tables: valid USR rows (or rows with a broken alphabet on purpose) in bulk."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from usr_harness.dataset.ids import compute_ids
from usr_harness.dataset.schema import ALPHABETS, ALPHABETS_BY_BIO_TYPE, CORE_SCHEMA
from usr_harness.mock.seeding import derive_rng
from usr_harness.mock.sequences import distinct_sequences

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def seed_origin(seed: int) -> datetime:
    """Where a seed's timestamps start: fixed per seed, so files never depend on the wall clock."""
    return EPOCH + timedelta(seconds=seed % 86_400)


def alphabet_symbols(alphabet: str) -> str:
    """The symbols of a known alphabet, upper case, in the dataset layer's order."""
    try:
        return ALPHABETS[alphabet]
    except KeyError:
        raise ValueError(f"unknown alphabet {alphabet!r}; choose from {', '.join(ALPHABETS)}") from None


def _constant(value: str, n: int) -> pa.Array:
    return pa.repeat(pa.scalar(value, pa.string()), n)


def mock_records(
    seed: int,
    n: int,
    *,
    bio_type: str = "dna",
    length_range: tuple[int, int] = (40, 120),
    alphabet: str | None = None,
    source: str = "mock",
    invalid_alphabet: bool = False,
    start: datetime | None = None,
) -> pa.Table:
    """`n` core rows for `bio_type`; `alphabet` defaults to its plain one (dna_4, rna_4, protein_20).

    Ids come from the dataset layer so they always agree with what it validates; `created_at` counts
    microseconds from `start` (default: the seed's origin). With `invalid_alphabet`, every sequence
    carries one symbol outside its alphabet, and the table must be rejected on import.
    """
    name = alphabet or ALPHABETS_BY_BIO_TYPE.get(bio_type, ("dna_4",))[0]
    symbols = alphabet_symbols(name)
    rng = derive_rng(seed, "records", bio_type, name)
    sequences = distinct_sequences(rng, n, symbols, length_range, invalid=invalid_alphabet)
    bio_types = _constant(bio_type, n)
    origin = start or seed_origin(seed)
    micros = (origin - UNIX_EPOCH) // timedelta(microseconds=1)
    columns = {
        "id": compute_ids(bio_types, sequences),
        "bio_type": bio_types,
        "sequence": sequences,
        "alphabet": _constant(name, n),
        "length": pc.binary_length(sequences).cast(pa.int32()),
        "source": _constant(source, n),
        "created_at": pa.array(np.arange(n, dtype=np.int64) + micros, pa.timestamp("us", tz="UTC")),
    }
    return pa.Table.from_arrays([columns[field.name] for field in CORE_SCHEMA], schema=CORE_SCHEMA)
