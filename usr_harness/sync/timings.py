"""Wall seconds per phase of one sync command, so a slow command says where its time went.

The engine keeps one `Timings` per command and passes it down; nothing here is global.
Steps (`connect`, `compare`, `transfer`, ...) follow each other; spans (`local scan`,
`remote scan`, `plan`) run inside a step and their seconds are taken out of it, so every
second of the command is counted once and the local column sums to the whole. The agent
reports its own seconds per operation in its replies (`agent_timing`). Stdlib only and
Python 3.8: the agent ships `process_age` and `agent_timing`.
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager

PHASES = (
    "start-up",
    "engine load",
    "ssh connect+auth",
    "agent start",
    "connect (waited)",
    "local scan",
    "remote scan",
    "plan",
    "compare (other)",
    "transfer",
    "verify",
    "promote",
    "post-verify",
    "audit write",
)
"""The rows of the breakdown, in the order a command meets them."""

REMOTE_OPS = {
    "hello": "agent start",
    "manifest": "remote scan",
    "hashes": "remote scan",
    "lock": "compare (other)",
    "unlock": "compare (other)",
    "stage": "transfer",
    "put": "transfer",
    "promote": "promote",
}
"""Which row an agent operation's seconds belong to (`get` streams its own headers: untimed)."""

_STEP_ROW = {"connect": "connect (waited)", "compare": "compare (other)"}


def process_age() -> float | None:
    """Seconds since this process started (Linux /proc, 10 ms ticks); None where unknown."""
    try:
        with open("/proc/self/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        with open("/proc/uptime") as handle:
            uptime = float(handle.read().split()[0])
        return max(uptime - int(fields[19]) / os.sysconf("SC_CLK_TCK"), 0.0)
    except (OSError, ValueError, IndexError):
        return None


def agent_timing(op: str, seconds: float, hashes) -> dict:
    """What the agent adds to a reply: this operation's seconds and its hashing so far."""
    return {
        "op": op,
        "s": round(seconds, 6),
        "hash_files": hashes.reads,
        "hash_bytes": hashes.bytes_read,
        "hash_s": round(hashes.read_seconds, 6),
    }


class Timings:
    """One command's clock: `step` marks where each step starts, `span` times work inside a step."""

    def __init__(self, clock=time.perf_counter) -> None:
        self.clock = clock
        """Seconds from any origin; tests pass a fake one."""
        self.local: dict[str, float] = {}
        self.started = clock()
        self.startup = process_age()
        self._step: str | None = None
        self._step_started = self.started
        self._inner = [0.0]
        """Seconds spent in spans, per open level: the step's, then each open span's."""

    def step(self, name: str | None) -> None:
        """Close the running step (less the spans inside it) and start `name` (None: just close)."""
        now = self.clock()
        if self._step is not None:
            self._add(_STEP_ROW.get(self._step, self._step), now - self._step_started - self._inner[0])
        self._step, self._step_started, self._inner[0] = name, now, 0.0

    @contextmanager
    def span(self, name: str):
        """Time a piece of work inside the running step (or span); its seconds are taken out of that."""
        begun = self.clock()
        self._inner.append(0.0)
        try:
            yield
        finally:
            spent = self.clock() - begun
            self._add(name, spent - self._inner.pop())
            self._inner[-1] += spent

    def watching(self, observer):
        """`observer` (a `progress.Observer`) with every step it hears of marked on this clock."""
        return _Watching(self, observer)

    def _add(self, name: str, seconds: float) -> None:
        self.local[name] = self.local.get(name, 0.0) + max(seconds, 0.0)

    def report(self, stats=None, hashing: dict | None = None) -> dict:
        """The audit's `timings` block: rows of local and remote seconds, hashing, round trips.

        `stats` is the agent channel's `transport.Stats` (None before it connected); `hashing`
        the local hash cache's counters.
        """
        rows = {name: {"local": None, "remote": None} for name in PHASES}
        for name, seconds in self.local.items():
            rows.setdefault(name, {"local": None, "remote": None})["local"] = round(seconds, 4)
        rows["start-up"]["local"] = None if self.startup is None else round(self.startup, 4)
        block = {"phases": rows, "hashing": {"local": hashing, "remote": None}, "round_trips": None}
        if stats is not None:
            _add_channel(block, stats)
        block["total"] = round(self.clock() - self.started + (self.startup or 0.0), 4)
        return block


class _Watching:
    """A progress observer that also marks each step on a `Timings` before passing it on."""

    def __init__(self, timings: Timings, observer) -> None:
        self._timings = timings
        self._observer = observer

    def phase(self, name: str) -> None:
        self._timings.step(name)
        self._observer.phase(name)

    def transfer(self, files: int, total_bytes: int, moved) -> None:
        self._timings.step("transfer")
        self._observer.transfer(files, total_bytes, moved)


def _add_channel(block: dict, stats) -> None:
    rows = block["phases"]
    for name in ("ssh connect+auth", "agent start"):
        seconds = stats.connect.get(name)
        if seconds is not None:
            rows[name]["local"] = round(seconds, 4)
    remote = stats.agent
    rows["start-up"]["remote"] = remote.get("start-up")
    for op, seconds in remote.get("ops", {}).items():
        row = rows[REMOTE_OPS.get(op, "compare (other)")]
        row["remote"] = round((row["remote"] or 0.0) + seconds, 4)
    hashing = remote.get("hashing")
    block["hashing"]["remote"] = None if hashing is None else dict(hashing)
    block["round_trips"] = stats.requests
    block["asked_ahead"] = dict(stats.asked_ahead)
    block["delta"] = dict(stats.delta)


def with_audit_write(block: dict, timings: Timings) -> dict:
    """The audit's block with the audit's own write added: it cannot hold that itself."""
    seconds = timings.local.get("audit write")
    if seconds is None:
        return block
    phases = {**block["phases"], "audit write": {"local": round(seconds, 4), "remote": None}}
    return {**block, "phases": phases, "total": round(block["total"] + seconds, 4)}


def render(block: dict) -> str:
    """The `--timings` table: one row per phase that took time on either side."""
    lines = ["Timings (wall seconds; a span's are taken out of the step it ran in)"]
    lines.append(f"  {'phase':<18}local   remote")
    for name, row in block["phases"].items():
        if row["local"] is None and row["remote"] is None:
            continue
        lines.append(f"  {name:<18}{_cell(row['local'])}{_cell(row['remote'])}")
    for side in ("local", "remote"):
        hashing = block["hashing"].get(side)
        if hashing:
            lines.append(
                f"  hashing {side:<10}{hashing['files']} file(s), {hashing['bytes']} byte(s) read in "
                f"{hashing['seconds']:.3f} s; {hashing.get('cache_hits', 0)} cache hit(s)"
            )
    if block.get("round_trips") is not None:
        lines.append(f"  round trips       {block['round_trips']}")
    ahead = block.get("asked_ahead")
    if ahead and any(ahead.values()):
        lines.append(f"  asked ahead       {ahead['used']} answer(s) used, {ahead['dropped']} dropped")
    delta = block.get("delta")
    if delta and delta["files"]:
        reused, sent = delta["reused"], delta["sent"]
        lines.append(f"  over old copies   {delta['files']} file(s): {reused} byte(s) reused, {sent} sent")
    lines.append(f"  {'total':<18}{_cell(block['total'])}")
    return "\n".join(lines)


def _cell(seconds: float | None) -> str:
    return f"{'-':<8}" if seconds is None else f"{seconds:<8.3f}"
