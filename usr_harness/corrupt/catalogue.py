"""The named corruption catalogue: stable ids, what each does, and what it must draw from sync.

Ids read `<section>.<kind>` (`derived.byte-flip`) and never change meaning; the
order is stable so reports and drills line up run after run. `apply` picks the
target and every random choice from the seed alone: the same seed breaks the
same byte on either side.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from usr_harness.corrupt import targets
from usr_harness.corrupt.expectations import STRICT, Expected, expectations
from usr_harness.corrupt.injectors import INJECTORS, Job
from usr_harness.corrupt.tree import Tree
from usr_harness.dataset.layout import check_dataset_id
from usr_harness.errors import UsageError

KIND_SUMMARIES = {
    "delete": "remove the file",
    "truncate": "cut the file short at a seeded length (event log: at a line boundary)",
    "byte-flip": "change one byte at a seeded offset (parquet: in page data; log, registry: to invalid "
    "UTF-8), size and mtime kept",
    "append-garbage": "append bytes that are neither UTF-8 nor parquet",
    "symlink-inside": "replace the file by a relative symlink to another file of the dataset",
    "symlink-outside": "replace the file by a symlink to /etc/passwd",
    "fifo": "replace the file by a fifo",
    "stray-file": "add a file nobody wrote, beside the section's files",
    "rename": "rename the file (parts and snapshots to another well-formed name)",
    "footer-damage": "zero the first bytes of the parquet footer metadata, size and mtime kept",
    "kv-tamper": "rewrite the parquet file with one usr: metadata value changed, mtime kept",
    "cut-mid-line": "cut the event log inside a line",
    "branched": "same size, still valid JSON lines, different last event",
    "reordered": "swap two event lines, same size",
    "invalid-utf8": "append an event line that is not UTF-8",
    "oversize-record": "append a valid event line over the 1 MiB limit",
    "no-final-newline": "append a valid event without its final newline",
    "hash-drift": "edit a namespace description in registry.yaml so the registry hash changes",
}


@dataclass(frozen=True)
class Corruption:
    id: str
    section: str
    kind: str
    summary: str
    expected: tuple[Expected, ...]

    def expect(self, side: str, command: str, profile: str = "strict") -> Expected:
        for row in self.expected:
            if (row.side, row.command, row.profile) == (side, command, profile):
                return row
        raise KeyError(f"{self.id}: no expectation for side={side} command={command} profile={profile}")

    def as_dict(self) -> dict[str, object]:
        """JSON shape: expected[side][command][profile] = outcome, or {outcome, token} with a token."""
        nested: dict[str, dict[str, dict[str, object]]] = {}
        for row in self.expected:
            value: object = row.outcome if row.token is None else {"outcome": row.outcome, "token": row.token}
            nested.setdefault(row.side, {}).setdefault(row.command, {})[row.profile] = value
        return {
            "id": self.id,
            "section": self.section,
            "kind": self.kind,
            "summary": self.summary,
            "expected": nested,
        }


@dataclass(frozen=True)
class AppliedCorruption:
    """What was done: `path` is the file broken (or added), `paths` every tree-relative path whose
    entry changed (a rename lists the old name, then the new one)."""

    id: str
    kind: str
    side: str
    seed: int
    path: str
    paths: tuple[str, ...]
    detail: str

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "kind": self.kind,
            "side": self.side,
            "seed": self.seed,
            "path": self.path,
            "paths": list(self.paths),
            "detail": self.detail,
        }


CATALOGUE: tuple[Corruption, ...] = tuple(
    Corruption(f"{section}.{kind}", section, kind, KIND_SUMMARIES[kind], expectations(section, kind))
    for section, kind in STRICT
)
_BY_ID = {entry.id: entry for entry in CATALOGUE}


def get(corruption_id: str) -> Corruption:
    try:
        return _BY_ID[corruption_id]
    except KeyError:
        raise UsageError(
            f"unknown corruption {corruption_id!r}; `usr-harness corrupt list` shows the catalogue"
        ) from None


def apply(entry: Corruption | str, tree: Tree, dataset_id: str, seed: int) -> AppliedCorruption:
    """Break one file of `dataset_id` in `tree` (a datasets root) as `entry` says, seeded by `seed`.

    A file the kind cannot act on (a one-line log to reorder, a records file that is no
    longer parquet) is a UsageError naming it; nothing was changed in that case.
    """
    corruption = get(entry) if isinstance(entry, str) else entry
    try:
        check_dataset_id(dataset_id)
    except ValueError as error:
        raise UsageError(str(error)) from None
    rng = random.Random(f"usr-harness-corrupt:{corruption.id}:{seed}")
    path = targets.pick(tree, dataset_id, corruption.section, rng)
    try:
        outcome = INJECTORS[corruption.kind](Job(tree, dataset_id, corruption.section, path, rng))
    except ValueError as error:
        raise UsageError(f"{corruption.id} does not fit {tree.describe(path)}: {error}") from None
    return AppliedCorruption(
        corruption.id, corruption.kind, tree.side, seed, outcome.paths[0], outcome.paths, outcome.detail
    )
