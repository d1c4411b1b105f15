"""How much a sync holds and moves, per section and side: the prompt's table and the plan's bytes.

An operator asked "pull 12 file(s)?" needs to know whether that is 12 kB or 12 GB, and on
which side the bulk lies, before answering.
"""

from __future__ import annotations

from usr_harness.sync.inventory.manifest import Manifest
from usr_harness.sync.plan.model import Plan
from usr_harness.sync.record.audit import human_bytes, render_plain, section_bytes

SECTION_LABELS = {
    "primary": "records.parquet",
    "meta": "meta.md",
    "events": ".events.log",
    "snapshots": "_snapshots",
    "derived": "_derived",
    "auxiliary": "_auxiliary",
}


def paths_bytes(paths: list[str], manifest: Manifest | None) -> int:
    """The bytes `paths` hold in `manifest` (a path it lacks counts nothing)."""
    if manifest is None:
        return 0
    return sum(manifest.files[path].size for path in paths if path in manifest.files)


def plan_block(action: str, plan: Plan, local: Manifest, remote: Manifest) -> dict:
    """The audit's `plan`: what is copied, deleted and forced, and how many bytes each moves."""
    source, target = (remote, local) if action == "pull" else (local, remote)
    return {
        "copy": plan.copy,
        "delete": plan.delete,
        "forced": plan.forced,
        "copy_bytes": paths_bytes(plan.copy, source),
        "delete_bytes": paths_bytes(plan.delete, target),
    }


def _cell(files: int, count: int) -> str:
    return f"{files} file{'' if files == 1 else 's'}, {human_bytes(count)}" if files else "-"


def size_table(action: str, plan: Plan, local: Manifest, remote: Manifest) -> list[str]:
    """Per section: what each side holds and what this command copies and deletes (files, bytes)."""
    source, target = (remote, local) if action == "pull" else (local, remote)
    rows = [("", "local", "remote", "copy", "delete")]
    for section, label in SECTION_LABELS.items():
        held = [(len(side.section(section)), section_bytes(side, section)) for side in (local, remote)]
        copy = [path for path in plan.copy if path in source.section(section)]
        delete = [path for path in plan.delete if path in target.section(section)]
        moves = [(len(copy), paths_bytes(copy, source)), (len(delete), paths_bytes(delete, target))]
        if any(files for files, _ in (*held, *moves)):
            rows.append((label, *(_cell(*pair) for pair in (*held, *moves))))
    widths = [max(len(row[column]) for row in rows) for column in range(5)]
    return [
        "  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def question(audit: dict, action: str, plan: Plan, local: Manifest, remote: Manifest) -> str:
    """The prompt: the audit block, the size table, then the question with its totals."""
    summary = render_plain(audit)
    side = "local" if action == "pull" else "remote"
    source, target = (remote, local) if action == "pull" else (local, remote)
    copied, deleted = paths_bytes(plan.copy, source), paths_bytes(plan.delete, target)
    table = "\n".join(size_table(action, plan, local, remote))
    return (
        f"{summary}\n{table}\n{action} {len(plan.copy)} file(s) ({human_bytes(copied)}) to {side}, "
        f"delete {len(plan.delete)} ({human_bytes(deleted)}) there?"
    )
