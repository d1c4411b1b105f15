"""Drill durations in pytest-split's format (`{nodeid: seconds}`), refreshed from run reports.

pytest-split balances shards on this file; a drill it does not list is given the
average, so a stale file only makes shards less even, never drops a drill.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from usr_harness.errors import UsageError
from usr_harness.report.model import Report


def durations_of(reports: Iterable[Report]) -> dict[str, float]:
    """Each drill's duration in the given runs; a drill run twice keeps its later run's time."""
    found: dict[str, float] = {}
    for report in reports:
        for drill in report.drills:
            found[drill.nodeid] = round(drill.duration_seconds, 3)
    return found


def refreshed_durations(old: dict[str, float], new: dict[str, float]) -> dict[str, float]:
    """`old` with every drill of `new` measured again; drills the runs did not reach keep their time."""
    return dict(sorted({**old, **new}.items()))


def quick_drills(durations: dict[str, float], under: float) -> list[str]:
    """The drills timed under `under` seconds, in node id order: a selection that fits a CI budget."""
    return sorted(nodeid for nodeid, seconds in durations.items() if seconds < under)


def load_durations(path: Path) -> dict[str, float]:
    """The durations file, or nothing when there is none yet; a malformed one is a usage error."""
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not an object of nodeid -> seconds")
        return {str(nodeid): float(seconds) for nodeid, seconds in data.items()}
    except (ValueError, TypeError) as error:
        raise UsageError(f"{path} is not a durations file: {error}", paths=[str(path)]) from None


def write_durations(path: Path, durations: dict[str, float]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(durations, indent=4, sort_keys=True) + "\n", encoding="utf-8")
