"""Which file of a section a corruption hits: a seeded choice among the section's regular files.

The choice is deliberately narrow so each catalogue entry's declared detection is
certain: snapshot and derived targets are parquet parts, auxiliary targets are
non-parquet files outside `_registry/` (the frozen registry copies have their own
rules), and the registry target is the datasets root's `registry.yaml`.
"""

from __future__ import annotations

import posixpath
import random

from usr_harness.corrupt.tree import Tree
from usr_harness.dataset.layout import (
    EVENTS_FILE,
    META_FILE,
    RECORDS_FILE,
    REGISTRY_DIR,
    REGISTRY_FILE,
    section_of,
)
from usr_harness.errors import UsageError

SECTIONS = ("primary", "meta", "events", "snapshots", "derived", "auxiliary", "registry")
_SINGLE_FILES = {"primary": RECORDS_FILE, "meta": META_FILE, "events": EVENTS_FILE}


def dataset_files(tree: Tree, dataset_id: str) -> list[str]:
    """Dataset-relative paths of the dataset's regular files (runtime files excluded)."""
    if not tree.exists(dataset_id):
        raise UsageError(f"dataset {dataset_id} does not exist at {tree.describe(dataset_id)}")
    prefix = dataset_id + "/"
    return [path[len(prefix) :] for path, kind in tree.walk(dataset_id) if kind == "file"]


def candidates(tree: Tree, dataset_id: str, section: str) -> list[str]:
    """Tree-relative paths a corruption of `section` may hit, sorted."""
    if section == "registry":
        found = [REGISTRY_FILE] if tree.exists(REGISTRY_FILE) and _is_file(tree, REGISTRY_FILE) else []
    else:
        files = dataset_files(tree, dataset_id)
        if section in _SINGLE_FILES:
            chosen = [path for path in files if path == _SINGLE_FILES[section]]
        elif section in ("snapshots", "derived"):
            chosen = [path for path in files if section_of(path) == section and path.endswith(".parquet")]
        elif section == "auxiliary":
            chosen = [
                path
                for path in files
                if section_of(path) == "auxiliary"
                and not path.startswith(REGISTRY_DIR + "/")
                and not path.endswith(".parquet")
            ]
        else:
            raise UsageError(f"unknown section {section!r}; known: {', '.join(SECTIONS)}")
        found = [posixpath.join(dataset_id, path) for path in chosen]
    if not found:
        raise UsageError(f"{tree.side} dataset {dataset_id} has no {section} file to corrupt")
    return sorted(found)


def pick(tree: Tree, dataset_id: str, section: str, rng: random.Random) -> str:
    return rng.choice(candidates(tree, dataset_id, section))


def other_file(tree: Tree, dataset_id: str, avoid: str, rng: random.Random) -> str:
    """A different regular file of the same dataset, for a symlink that stays inside it."""
    options = [
        posixpath.join(dataset_id, path)
        for path in dataset_files(tree, dataset_id)
        if posixpath.join(dataset_id, path) != avoid
    ]
    if not options:
        raise UsageError(f"{tree.side} dataset {dataset_id} has no other file to link to")
    return rng.choice(options)


def _is_file(tree: Tree, rel: str) -> bool:
    return tree.stat(rel).kind == "file"
