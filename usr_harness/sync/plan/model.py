"""What a plan is: the copies, deletes and kept additions, and the problems that refuse it.

Below `planner` and `log_plan`, which both build a `Plan`, and below the move steps that carry one out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from usr_harness.dataset.quoting import quote
from usr_harness.sync.inventory.manifest import FileEntry, Manifest

# Which problem wins when several are found: corruption first, data loss last.
FAMILY_ORDER = ("verify", "sidecars", "events", "diverged")


@dataclass(frozen=True)
class Problem:
    family: str
    message: str
    path: str
    corruption: bool = False
    side: str | None = None
    """The side the problem is on, where one file's plan knows it (`plan_file`)."""


@dataclass
class Plan:
    action: str
    copy: list[str] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    forced: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    """The target's additions since the last sync, left where they are."""
    problems: list[Problem] = field(default_factory=list)

    @property
    def noop(self) -> bool:
        return not self.copy and not self.delete

    def first_failure(self) -> tuple[str, str, list[str]] | None:
        """(family, message, every path of that family) for the most serious problem."""
        if not self.problems:
            return None
        family = min((p.family for p in self.problems), key=FAMILY_ORDER.index)
        chosen = [p for p in self.problems if p.family == family]
        message = chosen[0].message
        if len(chosen) > 1:
            message += f" (and {len(chosen) - 1} more {family} problem(s))"
        return family, message, [p.path for p in chosen]


def unchanged_since(entry: FileEntry, base: dict | None) -> bool:
    if base is None or entry.kind != "file" or entry.hash_pending:
        return False
    if entry.sha256 and base.get("sha256"):
        return entry.sha256 == base["sha256"]
    return entry.size == base.get("size")


def refused_entry(family: str, side: Manifest, entry: FileEntry) -> Problem:
    """A symlink, fifo, device or unsafe name is never followed, opened or copied."""
    if entry.unsafe:
        message = f"{side.side} {entry.unsafe}; refused"
    else:
        message = f"{side.side} {entry.kind} entry {quote(entry.path)} refused"
    return Problem(family, message, entry.path, corruption=True)


def diverged(plan: Plan, path: str, reason: str, *, copy: bool, force: bool, side: str | None = None) -> None:
    if force:
        (plan.copy if copy else plan.delete).append(path)
        plan.forced.append(path)
        return
    verb = "overwrite" if copy else "delete"
    plan.problems.append(
        Problem("diverged", f"{reason}; refusing to {verb} it (use --force to override)", path, side=side)
    )
