"""Figures, their targets and ratios, the printed table, and the change against an earlier run.

A ratio is always ours / reference: for times lower is better, for throughputs higher is.
Pure logic apart from the two render functions, so it is unit-tested without any timing.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from benchmarks.breakdown import format_phases
from benchmarks.measure import Stats

_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    "<": operator.lt,
    ">=": operator.ge,
    "==": operator.eq,
}
NOISE = 0.05
"""Changes within 5% between two runs are reported as noise, not as better or worse."""


@dataclass(frozen=True)
class Target:
    """A bound on the median (`on="ours"`) or on the ratio to the reference (`on="ratio"`).

    `==` needs every run equal to the value: one SSH connection per command means each command.
    """

    op: str
    value: float
    on: str = "ours"

    def __post_init__(self) -> None:
        if self.op not in _OPS or self.on not in ("ours", "ratio"):
            raise ValueError(f"bad target {self.op!r} {self.value!r} on {self.on!r}")

    def met(self, ours: Stats, ratio: float | None) -> bool | None:
        """None when it cannot be judged (a ratio target without a reference)."""
        if self.on == "ratio":
            return None if ratio is None else _OPS[self.op](ratio, self.value)
        if self.op == "==":
            return ours.min == ours.max == self.value
        return _OPS[self.op](ours.median, self.value)

    def describe(self, unit: str) -> str:
        if self.on == "ratio":
            return f"{self.op} {self.value:g}x ref"
        return f"{self.op} {format_value(self.value, unit)}"

    def as_dict(self) -> dict[str, object]:
        return {"op": self.op, "value": self.value, "on": self.on}


@dataclass(frozen=True)
class Figure:
    """One row of the table; `key` is stable across runs so `--compare` can pair rows."""

    key: str
    label: str
    unit: str
    ours: Stats
    reference: Stats | None = None
    reference_label: str = ""
    target: Target | None = None
    higher_is_better: bool = False
    phases: dict[str, float] | None = None
    reference_phases: dict[str, float] | None = None
    """Median seconds per phase of ours and of the reference (`breakdown.py`), where known."""

    @property
    def ratio(self) -> float | None:
        if self.reference is None or not self.reference.median:
            return None
        return self.ours.median / self.reference.median

    @property
    def met(self) -> bool | None:
        return None if self.target is None else self.target.met(self.ours, self.ratio)

    def as_dict(self) -> dict[str, object]:
        return {
            "key": self.key,
            "label": self.label,
            "unit": self.unit,
            "ours": self.ours.as_dict(),
            "reference": None if self.reference is None else self.reference.as_dict(),
            "reference_label": self.reference_label,
            "ratio": self.ratio,
            "target": None if self.target is None else self.target.as_dict(),
            "met": self.met,
            "higher_is_better": self.higher_is_better,
            "phases": self.phases,
            "reference_phases": self.reference_phases,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Figure:
        target = data.get("target")
        reference = data.get("reference")
        return cls(
            key=data["key"],
            label=data["label"],
            unit=data["unit"],
            ours=Stats.from_dict(data["ours"]),
            reference=None if reference is None else Stats.from_dict(reference),
            reference_label=data.get("reference_label", ""),
            target=None if target is None else Target(**target),
            higher_is_better=bool(data.get("higher_is_better", False)),
            phases=data.get("phases"),
            reference_phases=data.get("reference_phases"),
        )


@dataclass(frozen=True)
class Change:
    """One figure's median then and now; None on the side where the figure did not exist."""

    key: str
    label: str
    unit: str
    old: float | None
    new: float | None
    higher_is_better: bool

    @property
    def relative(self) -> float | None:
        if self.old is None or self.new is None or not self.old:
            return None
        return (self.new - self.old) / self.old

    @property
    def verdict(self) -> str:
        if self.relative is None:
            return "new" if self.old is None else "gone" if self.new is None else "n/a"
        if abs(self.relative) <= NOISE:
            return "same"
        improved = (self.relative > 0) == self.higher_is_better
        return "better" if improved else "worse"


def compare(old: list[Figure], new: list[Figure]) -> list[Change]:
    """Pair figures by key: the new run's order first, then figures only the old run had."""
    before = {figure.key: figure for figure in old}
    seen = set()
    changes = []
    for figure in new:
        seen.add(figure.key)
        previous = before.get(figure.key)
        old_median = None if previous is None else previous.ours.median
        changes.append(
            Change(
                figure.key,
                figure.label,
                figure.unit,
                old_median,
                figure.ours.median,
                figure.higher_is_better,
            )
        )
    for figure in old:
        if figure.key not in seen:
            changes.append(
                Change(
                    figure.key, figure.label, figure.unit, figure.ours.median, None, figure.higher_is_better
                )
            )
    return changes


def format_value(value: float, unit: str) -> str:
    """Enough digits to read, never more: 0.734 s, 12.3 s, 215 MB/s, 1.87 GB/s, 1 conn."""
    if unit == "conn":
        return f"{value:g}"
    if abs(value) >= 100:
        text = f"{value:.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    elif abs(value) >= 1:
        text = f"{value:.2f}"
    else:
        text = f"{value:.3f}"
    return f"{text} {unit}"


def format_stats(stats: Stats, unit: str) -> str:
    spread = f"{format_value(stats.min, unit).split()[0]}-{format_value(stats.max, unit).split()[0]}"
    return f"{format_value(stats.median, unit)} [{spread}]"


def format_ratio(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio:.2f}x"


def format_met(met: bool | None) -> str:
    return "-" if met is None else "met" if met else "NOT MET"


def format_change(change: Change) -> str:
    return "-" if change.relative is None else f"{change.relative:+.1%}"


def render_figures(figures: list[Figure], console: Console, title: str) -> None:
    table = Table(title=title, title_justify="left")
    for name in ("figure", "ours: median [min-max]", "reference", "ratio", "target", "met?"):
        table.add_column(escape(name), overflow="fold")
    for figure in figures:
        reference = ""
        if figure.reference is not None:
            reference = f"{figure.reference_label}: {format_value(figure.reference.median, figure.unit)}"
        target = "" if figure.target is None else figure.target.describe(figure.unit)
        met = format_met(figure.met)
        style = "red" if figure.met is False else None
        cells = (figure.label, format_stats(figure.ours, figure.unit), reference, format_ratio(figure.ratio))
        table.add_row(*(escape(cell) for cell in (*cells, target, met)), style=style)
    console.print(table)
    console.print("ratio = ours / reference median (times: lower is better; throughputs: higher is better)")
    _render_phases([figure for figure in figures if figure.phases or figure.reference_phases], console)


def _render_phases(figures: list[Figure], console: Console) -> None:
    """Beside each ratio, where the time went: median seconds per phase, ours and the reference's."""
    if not figures:
        return
    table = Table(title="where the time goes (median s per phase)", title_justify="left")
    for name in ("figure", "ratio", "ours", "reference"):
        table.add_column(name, overflow="fold")
    for figure in figures:
        cells = (figure.label, format_ratio(figure.ratio))
        cells += (format_phases(figure.phases), format_phases(figure.reference_phases))
        table.add_row(*(escape(cell) for cell in cells))
    console.print(table)
    console.print(
        "start: interpreter + imports; engine: the engine, loaded while the login runs; ssh: connect +"
        " auth; agent: ship + remote start; wait: login left to wait for after the local scan;"
        " lscan/rscan: local/remote scan; other: locks, base, gate; exit: audit write and process exit."
        " rsync: flist gen/xfer from --stats, other: the rest of its wall"
    )


def render_changes(changes: list[Change], console: Console, title: str) -> None:
    table = Table(title=title, title_justify="left")
    for name in ("figure", "before", "now", "change", "verdict"):
        table.add_column(name, overflow="fold")
    for change in changes:
        before = "-" if change.old is None else format_value(change.old, change.unit)
        now = "-" if change.new is None else format_value(change.new, change.unit)
        style = "red" if change.verdict == "worse" else "green" if change.verdict == "better" else None
        cells = (change.label, before, now, format_change(change), change.verdict)
        table.add_row(*(escape(cell) for cell in cells), style=style)
    console.print(table)
