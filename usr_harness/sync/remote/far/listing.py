"""The dataset ids a remote base_dir holds, for the message of a dataset id neither side has.

`rclone lsd` for USR: a folder is a dataset when it holds records.parquet, flat (`demo`) or
one namespace deep (`ns/demo`). Runs on the remote (stdlib only, Python 3.8).
"""

from __future__ import annotations

import os

from usr_harness.dataset.layout import RECORDS_FILE, check_dataset_id
from usr_harness.sync.remote.far.protocol import AgentFailure

LISTED_MAX = 1000
"""More ids than this are counted, not named: the reply stays one short line."""


def dataset_ids(base_dir: str) -> tuple[list[str], int]:
    """(the first LISTED_MAX ids in sorted order, how many there are in all)."""
    found = []
    for name in _folders(base_dir):
        folder = os.path.join(base_dir, name)
        if os.path.isfile(os.path.join(folder, RECORDS_FILE)):
            found.append(name)
            continue
        found += [f"{name}/{inner}" for inner in _folders(folder) if _holds_records(folder, inner)]
    ids = sorted(_valid(found))
    return ids[:LISTED_MAX], len(ids)


def _folders(parent: str) -> list[str]:
    """Child folders that could name a dataset (no runtime or hidden names), symlinks not followed."""
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return []
    return [e.name for e in entries if not e.name.startswith((".", "_")) and e.is_dir(follow_symlinks=False)]


def _holds_records(parent: str, name: str) -> bool:
    return os.path.isfile(os.path.join(parent, name, RECORDS_FILE))


def _valid(ids: list[str]) -> list[str]:
    valid = []
    for dataset in ids:
        try:
            check_dataset_id(dataset)
        except ValueError:
            continue
        valid.append(dataset)
    return valid


class ListingOps:
    """The agent's `datasets` operation (mixed into `Agent`, which owns `base_dir`)."""

    base_dir: str | None

    def op_datasets(self, request: dict) -> dict:
        if self.base_dir is None:
            raise AgentFailure("usage", "hello must come first")
        ids, total = dataset_ids(self.base_dir)
        return {"ok": True, "datasets": ids, "total": total}
