"""Which side is ahead, and the command that brings the other in step: what a diff tells to run next (pure).

Decided from the manifest of the last sync (`base_store`): a side whose files or event log
differ from it has work the other has not seen. One such side is ahead; two have diverged; a
dataset only one side holds is copied by the command that bootstraps the other.
"""

from __future__ import annotations

from usr_harness.sync.inventory.manifest import Manifest
from usr_harness.sync.plan.model import unchanged_since

UP_TO_DATE = "up-to-date"
LOCAL_AHEAD = "local-ahead"
REMOTE_AHEAD = "remote-ahead"
DIVERGED = "diverged"
LOCAL_ONLY = "local-only"
REMOTE_ONLY = "remote-only"


def direction(local: Manifest, remote: Manifest, base: dict[str, dict] | None, changed: bool) -> str:
    """One of the six names above; without a recorded sync, differing sides are `diverged`."""
    if not changed:
        return UP_TO_DATE
    if not remote.exists:
        return LOCAL_ONLY
    if not local.exists:
        return REMOTE_ONLY
    if base is None:
        return DIVERGED
    mine, theirs = changed_since(local, base), changed_since(remote, base)
    if mine and not theirs:
        return LOCAL_AHEAD
    if theirs and not mine:
        return REMOTE_AHEAD
    return DIVERGED


def changed_since(side: Manifest, base: dict[str, dict]) -> list[str]:
    """The side's paths (event log included) added, removed or rewritten since the last sync."""
    paths = set(side.files) | set(base)
    return sorted(p for p in paths if p not in side.files or not unchanged_since(side.files[p], base.get(p)))


def advice(state: str, dataset: str, remote: str) -> str:
    """The plain block's line: where the sides stand and the command to run next."""
    pull, push = f"`usr pull {dataset} {remote}`", f"`usr push {dataset} {remote}`"
    if state == DIVERGED:
        return (
            f"diverged: both sides changed since the last sync (or none with {remote} is recorded here); "
            f"a plain {pull} or {push} refuses and names the files it would overwrite: "
            f"inspect them, then keep one side's with --force (two grown event logs: "
            f"`usr events merge {dataset} {remote}`)"
        )
    return {
        UP_TO_DATE: "up to date: nothing to run",
        LOCAL_AHEAD: f"local is ahead: run {push}",
        REMOTE_AHEAD: f"remote is ahead: run {pull}",
        LOCAL_ONLY: f"only local has {dataset}: run {push} to copy it there",
        REMOTE_ONLY: f"only remote {remote} has {dataset}: run {pull} to bring it here",
    }[state]
