"""Decide what a pull or push copies and deletes, and refuse anything that could lose data (pure).

`source` is the side whose state wins (remote for pull, local for push). The base
is what both sides held after the last successful sync: a target file may only
be overwritten or deleted when it still matches the base. A file new on the target
since the base is the target's addition: it is kept, never deleted (add/add). The same
holds for event lines the target appended to the log of the last sync. Overlay parts
and snapshots are immutable, so one that differs across sides is corruption.
"""

from __future__ import annotations

from usr_harness.dataset.layout import EVENTS_FILE
from usr_harness.dataset.quoting import quote
from usr_harness.sync.inventory.manifest import Manifest
from usr_harness.sync.options import SyncOptions
from usr_harness.sync.plan.diff import same_content
from usr_harness.sync.plan.log_plan import plan_events
from usr_harness.sync.plan.model import Plan, Problem, diverged, refused_entry, unchanged_since

IMMUTABLE_SECTIONS = ("derived", "snapshots")


def plan_sync(
    action: str,
    local: Manifest,
    remote: Manifest,
    base: dict[str, dict] | None,
    opts: SyncOptions,
    primary_mode: str,
) -> Plan:
    source, target = (remote, local) if action == "pull" else (local, remote)
    plan = Plan(action)
    has_base = base is not None
    base = base or {}
    sections = opts.included_sections()
    stats = (source.primary_stats, target.primary_stats)
    paths = sorted(
        path
        for path in set(source.files) | set(target.files)
        if path != EVENTS_FILE and (source.files.get(path) or target.files.get(path)).section in sections
    )
    for path in paths:
        _plan_file(plan, path, source, target, base.get(path), has_base, opts, (primary_mode, stats))
    if "derived" in sections and not opts.force:
        _check_derived_present(plan, source, target, base)
    if "events" in sections:
        plan_events(plan, source, target, opts, base.get(EVENTS_FILE))
    return plan


def _plan_file(plan, path, source, target, base, has_base, opts, primary) -> None:
    """`base` is this path's entry in the last sync (None: not in it); `has_base`: a sync happened."""
    primary_mode, stats = primary
    src, tgt = source.files.get(path), target.files.get(path)
    section = (src or tgt).section
    family = "verify" if section == "primary" else "sidecars"
    for side, entry in ((source, src), (target, tgt)):
        if entry is not None and not entry.regular:
            plan.problems.append(refused_entry(family, side, entry))
            return
    mode = primary_mode if section == "primary" else opts.compare_mode(section)
    if src and tgt and same_content(src, tgt, mode, stats):
        return
    immutable = section in IMMUTABLE_SECTIONS
    if immutable and base is not None:
        for side, entry in ((source, src), (target, tgt)):
            if entry is not None and not unchanged_since(entry, base):
                plan.problems.append(
                    Problem(
                        "sidecars",
                        f"{side.side} {quote(path)} changed after it was written (immutable {section} file; "
                        "its bytes differ from the last sync) - not propagated",
                        path,
                        corruption=True,
                    )
                )
                return
    if src and tgt and has_base and base is None:
        reason = f"{path} was added on both sides since the last sync with different bytes"
        diverged(plan, path, reason, copy=True, force=opts.force)
    elif src and tgt:
        if immutable:
            plan.problems.append(
                Problem(
                    "sidecars",
                    f"{quote(path)} differs between local and remote; {section} files are immutable, "
                    "so one copy is corrupt - not propagated",
                    path,
                    corruption=True,
                )
            )
        elif unchanged_since(tgt, base):
            plan.copy.append(path)
        else:
            reason = f"{target.side} {quote(path)} changed since the last sync"
            diverged(plan, path, reason, copy=True, force=opts.force)
    elif src:
        plan.copy.append(path)
    elif unchanged_since(tgt, base):
        plan.delete.append(path)
    elif has_base and base is None:
        plan.kept.append(path)
    else:
        reason = f"{target.side} {quote(path)} is not on the {source.side} side and not in the last sync"
        diverged(plan, path, reason, copy=False, force=opts.force)


def _check_derived_present(plan: Plan, source: Manifest, target: Manifest, base: dict[str, dict]) -> None:
    """A side whose whole `_derived` vanished since the last sync is an incomplete copy, not an edit."""
    known = sum(1 for path in base if path.startswith("_derived/"))
    for side in (source, target):
        if known and side.exists and not side.section("derived"):
            message = (
                f"{side.side} _derived is missing ({known} overlay part(s) at the last sync); "
                "refusing to sync an incomplete dataset (use --force to accept the loss)"
            )
            plan.problems.append(Problem("sidecars", message, "_derived", corruption=True))


def plan_file(
    action: str,
    local: Manifest,
    remote: Manifest,
    base: dict | None,
    *,
    names: dict[str, str],
    primary_mode: str,
    force: bool,
) -> Plan:
    """One file as a one-entry sync; `names` holds each side's path as messages name it.

    The source must hold the file, an identical target moves nothing, and a target is
    overwritten only while it still matches `base` (the last sync's {sha256, size}) or under
    --force. `copy` and `forced` name the target's path.
    """
    source, target = (remote, local) if action == "pull" else (local, remote)
    plan = Plan(action)
    src, tgt = source.primary, target.primary
    if src is None:
        name = names[source.side]
        plan.problems.append(Problem("verify", f"{source.side} {name} is missing", name, side=source.side))
        return plan
    stats = (source.primary_stats, target.primary_stats)
    if tgt is not None and same_content(src, tgt, primary_mode, stats):
        return plan
    name = names[target.side]
    if tgt is not None and not unchanged_since(tgt, base):
        reason = f"{target.side} {name} changed since the last sync"
        diverged(plan, name, reason, copy=True, force=force, side=target.side)
    else:
        plan.copy.append(name)
    return plan


def parquet_changed_since(side: Manifest, base: dict[str, dict] | None) -> bool:
    """Whether `side` holds a parquet file the last sync did not leave there: the guess that
    lets a push load its parquet checks before the remote answers (a wrong guess costs an import)."""
    base = base or {}
    return any(
        path.endswith(".parquet") and not unchanged_since(entry, base.get(path))
        for path, entry in side.files.items()
    )


def primary_missing(action: str, local: Manifest, remote: Manifest) -> str | None:
    """The token operators grep for when the side that must provide records.parquet lacks it."""
    source = remote if action == "pull" else local
    if source.primary is None:
        return f"{source.side} records.parquet is missing"
    return None


def base_from(source: Manifest, target: Manifest, kept: list[str] = ()) -> dict[str, dict]:
    """Files both sides now agree on: what the next sync compares against.

    A log the target kept (it extends the source's) agrees on the source's log: that prefix
    is what both hold, so lines appended later on either side stay additions.
    """
    agreed = {}
    for path, entry in target.files.items():
        other = source.files.get(path)
        if other is not None and entry.regular and same_content(entry, other, "hash"):
            agreed[path] = {"sha256": entry.sha256, "size": entry.size}
    log = source.events_entry
    if EVENTS_FILE in kept and log is not None:
        agreed[EVENTS_FILE] = {"sha256": log.sha256, "size": log.size}
    return agreed
