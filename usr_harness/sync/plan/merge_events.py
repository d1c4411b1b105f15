"""`usr events merge DATASET REMOTE`: rewrite the local event log so it extends the remote's.

The one reconciliation of a branched history this engine offers. It reads the remote
log under the remote's shared lock (the remote is never written), then merges under the
local dataset locks (`log_merge`), writes the local log atomically, and records the
remote log as the log both sides now share, so the next pull keeps the local lines and
the next push sends them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

from usr_harness.dataset.flock import LockTimeout, acquire_dataset, release_all
from usr_harness.dataset.fsio import atomic_write_bytes
from usr_harness.dataset.layout import EVENTS_FILE, check_dataset_id
from usr_harness.errors import DatasetError, LockError, UsageError, UsrError
from usr_harness.sync.inventory.scan import sha256_file
from usr_harness.sync.plan import base_store
from usr_harness.sync.plan.log_merge import merge_logs
from usr_harness.sync.remote.near.client import AgentClient
from usr_harness.sync.remote.near.pending import connect_agent_in_background
from usr_harness.sync.remote.near.profiles import get_profile


def merge_events(
    root: Path,
    dataset: str,
    remote: str,
    remotes_config: Path | None,
    *,
    lock_timeout: float = 30.0,
    echo: Callable[[str], None] = print,
) -> bool:
    """Merge; returns whether the local log was rewritten."""
    try:
        check_dataset_id(dataset)
    except ValueError as error:
        raise UsageError(str(error)) from None
    folder = Path(root) / dataset
    log = folder / EVENTS_FILE
    if not log.is_file() or log.is_symlink():
        raise DatasetError(
            f"{dataset}: local {EVENTS_FILE} is missing or not a regular file", paths=[EVENTS_FILE]
        )
    profile = get_profile(remote, remotes_config)
    with connect_agent_in_background(profile) as pending:
        agent = pending.agent()
        theirs = _read_remote_log(agent, dataset, lock_timeout)
        try:
            held = acquire_dataset(str(folder), exclusive=True, timeout=lock_timeout)
        except LockTimeout as error:
            raise LockError(f"local {dataset}: {error}", paths=[error.path]) from None
        try:
            base = base_store.load_base(root, dataset, remote)
            merged = merge_logs((base or {}).get(EVENTS_FILE), log.read_bytes(), theirs, dataset=dataset)
            if merged is None:
                echo(f"{dataset}: one event log already extends the other; nothing to merge")
                return False
            atomic_write_bytes(log, merged.data)
            shared = {"sha256": sha256_file(str(log), len(theirs)), "size": len(theirs)}
            base_store.save_base(root, dataset, remote, {**base, EVENTS_FILE: shared})
        finally:
            release_all(held)
    echo(
        f"{dataset}: rewrote local {EVENTS_FILE}: {merged.shared_lines} line(s) of the last sync, then "
        f"the remote's {merged.remote_lines} new line(s), then this side's {merged.local_lines} new "
        "line(s), every line kept; the remote log is unchanged. Next: usr pull, then usr push."
    )
    return True


def _read_remote_log(agent: AgentClient, dataset: str, lock_timeout: float) -> bytes:
    """The remote log, read under the remote's shared lock; a folder the lock made is dropped again."""
    agent.request({"op": "lock", "dataset": dataset, "exclusive": False, "timeout": lock_timeout})
    blocks: list[bytes] = []
    try:
        agent.get_files(dataset, [EVENTS_FILE], lambda path, size, data: blocks.extend(data))
    finally:
        with contextlib.suppress(UsrError):
            agent.request({"op": "unlock", "dataset": dataset})
    return b"".join(blocks)
