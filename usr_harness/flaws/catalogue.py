"""The flaw catalogue: one patch file per flaw, whose first line says what it breaks (pure).

Header (one line, before the patch; `git apply` skips it):

    # flaw: WHAT IS BROKEN | area: AREA | drills: NODEID [NODEID ...] [| k: EXPR] [| blind: WHY]

`drills` names the drills expected to catch it (pytest node ids or files); `k` narrows
them with a pytest -k expression. `blind` (a blind spot, with the issue that owns it) or
`equivalent` (the variant behaves as the engine does) says why the suite may not catch
it: such a flaw is still listed and run, never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from usr_harness.errors import UsageError

AREAS = (
    "plan",
    "events",
    "staging",
    "locks",
    "hash-cache",
    "verify",
    "audit",
    "security",
    "file-mode",
    "agent",
)
PREFIX = "# flaw: "
KEYS = ("area", "drills", "k", "blind", "equivalent")
SUFFIX = ".patch"


@dataclass(frozen=True)
class Flaw:
    """One catalogue entry: the patch, what it breaks, and the drills that should catch it."""

    name: str
    summary: str
    area: str
    drills: tuple[str, ...]
    patch: Path
    k: str | None = None
    blind: str | None = None
    equivalent: str | None = None

    @property
    def excused(self) -> str | None:
        """Why surviving is expected, or None when the suite must catch it."""
        if self.blind:
            return f"blind spot: {self.blind}"
        if self.equivalent:
            return f"equivalent: {self.equivalent}"
        return None


def parse_header(name: str, line: str, patch: Path) -> Flaw:
    """Read a patch's header line, refusing any unknown key, area or missing field by name."""
    if not line.startswith(PREFIX):
        raise UsageError(f"flaw {name}: first line must start with {PREFIX!r}")
    summary, *fields = (part.strip() for part in line[len(PREFIX) :].split(" | "))
    values: dict[str, str] = {}
    for field in fields:
        key, sep, value = field.partition(":")
        key = key.strip()
        if not sep or key not in KEYS or not value.strip():
            raise UsageError(f"flaw {name}: bad header field {field!r}; keys: {', '.join(KEYS)}")
        if key in values:
            raise UsageError(f"flaw {name}: header field {key!r} given twice")
        values[key] = value.strip()
    if not summary:
        raise UsageError(f"flaw {name}: the header names no flaw")
    area = values.get("area")
    if area not in AREAS:
        raise UsageError(f"flaw {name}: area {area!r} is not one of {', '.join(AREAS)}")
    drills = tuple(values.get("drills", "").split())
    if not drills:
        raise UsageError(f"flaw {name}: no drills declared")
    if any(not d.startswith("drills/") for d in drills):
        raise UsageError(f"flaw {name}: drills must be node ids under drills/: {' '.join(drills)}")
    if "blind" in values and "equivalent" in values:
        raise UsageError(f"flaw {name}: blind and equivalent exclude each other")
    return Flaw(
        name=name,
        summary=summary,
        area=area,
        drills=drills,
        patch=patch,
        k=values.get("k"),
        blind=values.get("blind"),
        equivalent=values.get("equivalent"),
    )


def read_flaw(patch: Path) -> Flaw:
    name = patch.name.removesuffix(SUFFIX)
    with open(patch, encoding="utf-8") as handle:
        first = handle.readline().rstrip("\n")
    return parse_header(name, first, patch)


def load_catalogue(folder: Path, only: list[str] | None = None) -> list[Flaw]:
    """Every flaw in `folder`, by name; `only` picks some and refuses a name that is not there."""
    if not folder.is_dir():
        raise UsageError(f"no flaw catalogue at {folder}")
    flaws = [read_flaw(path) for path in sorted(folder.glob(f"*{SUFFIX}"))]
    if not only:
        return flaws
    known = {flaw.name: flaw for flaw in flaws}
    missing = [name for name in only if name not in known]
    if missing:
        raise UsageError(f"unknown flaw(s): {', '.join(missing)}; known: {', '.join(known)}")
    return [known[name] for name in only]
