"""Plan `.events.log`: it may only grow; lines the target appended since the last sync are kept (pure)."""

from __future__ import annotations

from usr_harness.dataset.layout import EVENTS_FILE
from usr_harness.sync.inventory.manifest import EventsInfo, FileEntry, Manifest
from usr_harness.sync.options import SyncOptions
from usr_harness.sync.plan.model import Plan, Problem, diverged, refused_entry


def plan_events(plan: Plan, source: Manifest, target: Manifest, opts: SyncOptions, base: dict | None) -> None:
    src, tgt = source.events_entry, target.events_entry
    if src is None and tgt is None:
        return
    for side, entry in ((source, src), (target, tgt)):
        if entry is not None and not entry.regular:
            plan.problems.append(refused_entry("events", side, entry))
            return
    if src is None:
        if source.exists and source.primary is not None:
            message = (
                f"{source.side} .events.log is missing while {target.side} has one; history cannot shrink"
            )
            plan.problems.append(Problem("diverged", message, EVENTS_FILE))
        return
    if tgt is None:
        if target.exists and target.primary is not None:
            diverged(plan, EVENTS_FILE, f"{target.side} .events.log is missing", copy=True, force=opts.force)
        else:
            plan.copy.append(EVENTS_FILE)
        return
    if src.sha256 == tgt.sha256 and src.size == tgt.size:
        return
    if base is None and _made_apart(source, target):
        plan.problems.append(Problem("events", _namesake(plan.action), EVENTS_FILE))
        return
    info = source.events
    if src.size > tgt.size and _starts_with(info, tgt):
        plan.copy.append(EVENTS_FILE)
        return
    if _is_base_log(src, base) and _extends_base_log(target, base):
        plan.kept.append(EVENTS_FILE)
        return
    if _extends_base_log(source, base) and _extends_base_log(target, base):
        message = (
            f"{target.side} .events.log is not a prefix of {source.side} .events.log: both logs grew "
            "since the last sync (histories branched); `usr events merge DATASET REMOTE` here "
            "merges them"
        )
        plan.problems.append(Problem("diverged", message, EVENTS_FILE))
    elif src.size <= tgt.size:
        message = (
            f"{source.side} .events.log does not extend {target.side} .events.log (the log may only grow)"
        )
        plan.problems.append(Problem("events", message, EVENTS_FILE))
    else:
        message = (
            f"{target.side} .events.log is not a prefix of {source.side} .events.log (histories branched)"
        )
        plan.problems.append(Problem("events", message, EVENTS_FILE))


def _made_apart(source: Manifest, target: Manifest) -> bool:
    """Two logs whose first lines (each dataset's creation event) differ: two datasets under one id."""
    first = [side.events.first_sha256 if side.events else None for side in (source, target)]
    return None not in first and first[0] != first[1]


def _namesake(action: str) -> str:
    """No sync is recorded and the two logs start apart: the id names another dataset over there."""
    if action == "push":
        return (
            "the remote has a different dataset under this id (its event log does not start with ours, "
            "and no sync with this remote is recorded here): push this one under another id, or pull "
            "the remote's into another root to compare them"
        )
    return (
        "the local dataset under this id is a different one (its event log does not start with the "
        "remote's, and no sync with this remote is recorded here): pull into another root, or move "
        "the local one aside first"
    )


def _starts_with(info: EventsInfo | None, entry: FileEntry) -> bool:
    """The log `info` describes begins with the whole of `entry`'s log, cut at a line end."""
    return (
        info is not None
        and info.prefix_len == entry.size
        and info.prefix_sha256 == entry.sha256
        and info.prefix_ends_line
    )


def _is_base_log(entry: FileEntry, base: dict | None) -> bool:
    return base is not None and entry.sha256 == base.get("sha256") and entry.size == base.get("size")


def _extends_base_log(side: Manifest, base: dict | None) -> bool:
    """The side's log starts with the whole log of the last sync (lines appended since, none changed)."""
    info = side.events
    return (
        base is not None
        and info is not None
        and info.base_len == base.get("size")
        and info.base_sha256 == base.get("sha256")
        and info.base_ends_line
    )
