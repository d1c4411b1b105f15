"""Large drill evidence (audit JSONs) moves out of `drills.jsonl` into files a person can open.

A drills.jsonl line then stays small enough to read and diff, and every audit is one
file under `evidence/<drill-slug>/`. Moving is idempotent: evidence that already
moved is listed in the line's `evidence_files` and is not touched again.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

DRILLS_FILE = "drills.jsonl"
EVIDENCE_DIR = "evidence"
AUDIT_SUFFIX = ".audit"
INLINE_LIMIT = 1024
KEEP_INLINE = ("expected", "observed", "failure", "unknown_because")  # read from the report: matrix, why
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def drill_slug(nodeid: str) -> str:
    """A folder name for a drill: readable, filesystem-safe, and unique by a digest of the nodeid."""
    readable = _UNSAFE.sub("-", nodeid.removeprefix("drills/")).strip("-.")[:80]
    return f"{readable}-{hashlib.sha256(nodeid.encode()).hexdigest()[:8]}"


def is_large(name: str, value: Any) -> bool:
    """Audits always move; anything else moves when its JSON is over `INLINE_LIMIT` bytes."""
    if name in KEEP_INLINE:
        return False
    return name.endswith(AUDIT_SUFFIX) or len(json.dumps(value, default=str)) > INLINE_LIMIT


def read_lines(run_dir: Path) -> list[dict[str, Any]]:
    """The drill lines of a run folder, in the order the drills finished (none when no drill ran)."""
    path = run_dir / DRILLS_FILE
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def move_large_evidence(run_dir: Path) -> list[dict[str, Any]]:
    """Write each large evidence value to its own file, rewrite drills.jsonl, return the new lines."""
    lines = read_lines(run_dir)
    changed = False
    for line in lines:
        evidence: dict[str, Any] = line.get("evidence", {})
        files: dict[str, str] = line.setdefault("evidence_files", {})
        for name in [name for name, value in evidence.items() if is_large(name, value)]:
            relative = f"{EVIDENCE_DIR}/{drill_slug(line['nodeid'])}/{_UNSAFE.sub('-', name)}.json"
            target = run_dir / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(evidence.pop(name), indent=2, default=str) + "\n", encoding="utf-8")
            files[name] = relative
            changed = True
    if changed:
        _rewrite(run_dir / DRILLS_FILE, lines)
    return lines


def _rewrite(path: Path, lines: list[dict[str, Any]]) -> None:
    temp = path.with_name(f".{path.name}.{os.getpid()}")
    temp.write_text("".join(json.dumps(line, sort_keys=True) + "\n" for line in lines), encoding="utf-8")
    os.replace(temp, path)
