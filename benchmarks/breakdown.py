"""Where a command's time went: the engine's phase seconds (its audit's `timings`) and rsync's `--stats`.

A figure's ratio says how far from rsync a command is; the breakdown beside it says which
phase costs the gap. Pure functions over audits and rsync's output, unit-tested without timing.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable

SHORT = {
    "start-up": "start",
    "engine load": "engine",
    "ssh connect+auth": "ssh",
    "agent start": "agent",
    "connect (waited)": "wait",
    "local scan": "lscan",
    "remote scan": "rscan",
    "plan": "plan",
    "compare (other)": "other",
    "transfer": "xfer",
    "verify": "verify",
    "promote": "promote",
    "post-verify": "post",
    "audit write": "audit",
    "rest": "exit",
}
"""Short names for the table, in the order a command meets the phases; `rest` is the wall time after
the audit was built (its write, the front end's wrap-up, the interpreter's exit)."""
SHOWN_FROM = 0.005
"""Phases under 5 ms are left out of the printed line (they stay in the JSON)."""

_RSYNC_TIMES = {
    "File list generation time": "flist gen",
    "File list transfer time": "flist xfer",
}
_RSYNC_LINE = re.compile(r"^(File list (?:generation|transfer) time): ([\d.]+) seconds", re.MULTILINE)


def engine_phases(timings: dict) -> dict[str, float]:
    """Local seconds per phase, the remote's as `remote/<phase>`, and the whole as `total`."""
    found: dict[str, float] = {}
    for name, row in timings["phases"].items():
        if row["local"] is not None:
            found[name] = row["local"]
        if row["remote"] is not None:
            found[f"remote/{name}"] = row["remote"]
    found["total"] = timings["total"]
    return found


def rsync_phases(stdout: str, seconds: float) -> dict[str, float]:
    """rsync's two timed phases from `--stats`; the rest of its wall (ssh, start, transfer) as `other`."""
    found = {_RSYNC_TIMES[name]: float(value) for name, value in _RSYNC_LINE.findall(stdout)}
    if found:
        found["other"] = max(seconds - sum(found.values()), 0.0)
    return found


def median_phases(breakdowns: Iterable[dict[str, float] | None]) -> dict[str, float] | None:
    """The median of each phase over the runs that have a breakdown (a phase a run lacks counts 0)."""
    known = [breakdown for breakdown in breakdowns if breakdown]
    if not known:
        return None
    names = list(dict.fromkeys(name for breakdown in known for name in breakdown))
    return {name: statistics.median(breakdown.get(name, 0.0) for breakdown in known) for name in names}


def format_phases(phases: dict[str, float] | None) -> str:
    """`start 0.31 ssh 0.12 ... | remote: start 0.05 rscan 0.02`: the phases worth reading."""
    if not phases:
        return "-"
    local, remote = [], []
    for name, seconds in phases.items():
        if name == "total" or seconds < SHOWN_FROM:
            continue
        side, bare = (remote, name[len("remote/") :]) if name.startswith("remote/") else (local, name)
        side.append(f"{SHORT.get(bare, bare)} {seconds:.2f}")
    text = " ".join(local)
    return f"{text} | remote: {' '.join(remote)}" if remote else text
