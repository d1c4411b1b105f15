"""`index.html`: one self-contained page a person reads at a glance (no scripts, no external assets).

Top to bottom: the verdict line (passed / failed / errored with counts), what ran
and on what, the failures, the expected blind spots (counted apart), the cycle
steps, every drill against its verdict, the corruption matrix grouped by section
and kind, the slowest drills, and links to every evidence file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from html import escape
from typing import Any
from urllib.parse import quote

from usr_harness.report.corruption import case_parts, corruption_checks, kind_counts
from usr_harness.report.model import VERDICTS, DrillEntry, Report

KIND_NOUNS = {
    "match": ("as declared", "as declared"),
    "blind-spot": ("blind spot", "blind spots"),
    "mismatch": ("mismatch", "mismatches"),
    "unjudged": ("unjudged", "unjudged"),
}
CHART_LIMIT = 40
LABEL_CHARS = 68  # what fits the chart's 470 px label column in 11 px monospace
GLYPHS = {"pass": "✓", "fail": "✗", "unsupported": "–", "unknown": "?"}
STEP_CLASSES = {"passed": "pass", "failed": "fail", "skipped": "unknown"}

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1180px;
padding:16px 24px;color:#1f2328;background:#fff}
h1{font-size:22px;margin:4px 0}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d0d7de}
.meta{color:#57606a;font-size:13px}.meta code{font-size:12px}
table{border-collapse:collapse;width:100%}th,td{padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa;font-weight:600}tr+tr td{border-top:1px solid #eaeef2}
.tiles{display:flex;gap:12px;margin:12px 0}.tile{flex:1;padding:10px 14px;border-radius:6px;font-size:15px}
.tile .n{display:block;font-size:30px;font-weight:700}
#verdict{padding:10px 14px;border-radius:6px;font-weight:700;font-size:17px;margin:4px 0 8px;
overflow-wrap:anywhere}#verdict .meta{font-weight:400}
.outcome-passed{background:#dafbe1;color:#116329}.outcome-failed{background:#ffebe9;color:#a40e26}
.outcome-errored{background:#fff8c5;color:#7d4e00}.scroll,section{overflow-x:auto}
tr.group th{background:#eef1f4}
#corruption-matrix td.name{white-space:nowrap}
.verdict-pass{background:#dafbe1;color:#116329}.verdict-fail{background:#ffebe9;color:#a40e26}
.verdict-unknown{background:#fff8c5;color:#7d4e00}.verdict-unsupported{background:#ddf4ff;color:#0550ae}.verdict-total{background:#eaeef2}
td.cell{width:56px;text-align:center;font-weight:700}td.cell.on.pass{background:#2da44e;color:#fff}
td.cell.on.fail{background:#cf222e;color:#fff}td.cell.on.unknown{background:#d4a72c;color:#fff}td.cell.on.unsupported{background:#54aeff;color:#fff}
tr.module-row th{background:#eef1f4;font-size:13px}.num{text-align:right;white-space:nowrap}
.name{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px;overflow-wrap:anywhere}
#drill-matrix td.name{min-width:22em}#drill-matrix td.evidence{width:34%}
details summary{cursor:pointer;color:#0969da;white-space:nowrap}
details pre,details code{white-space:pre-wrap;overflow-wrap:anywhere;font-size:11px;margin:4px 0}
details .detail-body{max-width:32em}
.why{color:#57606a;font-size:12px;white-space:pre-wrap;overflow-wrap:anywhere}
code.reproduce{display:block;font-size:11px;background:#f6f8fa;padding:2px 6px;margin:2px 0;
white-space:pre-wrap;overflow-wrap:anywhere;user-select:all}
tr.blind-spot td{background:#fbefff}tr.mismatch td{background:#fff0ee}
.badge{border-radius:10px;padding:0 7px;font-size:12px;font-weight:600;white-space:nowrap}
.badge.blind-spot{background:#8250df;color:#fff}.badge.mismatch{background:#cf222e;color:#fff}
.badge.match{background:#2da44e;color:#fff}.badge.unjudged{background:#d4a72c;color:#fff}
.empty{color:#57606a;font-style:italic}
ul.files{columns:2;font-size:13px}
@media (max-width:640px){body{padding:8px}.tiles{flex-wrap:wrap;gap:6px}.tile{flex:1 0 28%;padding:6px 8px}
.tile .n{font-size:22px}#drill-matrix td.name{min-width:12em}ul.files{columns:1}
svg{max-width:100%;height:auto}}
a{color:#0969da}tr.step td:nth-child(-n+4){white-space:nowrap}
"""


def render_page(report: Report) -> str:
    """The whole page as one string; every value from the report is escaped."""
    sections = [
        _verdict(report),
        _header(report),
        _summary(report),
        _engines(report),
        _attention(report.drills),
        _blind_spots(report.drills),
        _unsupported(report.drills),
        _steps(report.steps),
        _drill_matrix(report.drills),
        _corruption_matrix(report.drills),
        _durations(report.drills),
        _run_files(report.run_files),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>usr-harness {escape(report.run_id)}</title><style>{STYLE}</style></head>\n"
        "<body>\n" + "\n".join(section for section in sections if section) + "\n</body></html>\n"
    )


def _header(report: Report) -> str:
    versions = ", ".join(f"{name} {value}" for name, value in report.versions.items())
    facts = [
        f"seed <b>{report.seed}</b>",
        f"engine <code>{escape(report.engine)}</code>",
        f"scale {escape(report.scale)}",
        f"written {escape(report.created_at)}",
        f"commit <code>{escape(report.git_commit or 'unknown')}</code>",
    ]
    if report.remote_options:
        facts.append(f"remote <code>{escape(' '.join(report.remote_options))}</code>")
    if report.replay_of:
        facts.append(f"replay of <code>{escape(report.replay_of)}</code>")
    return (
        f'<header><h1 id="run-id">usr-harness run {escape(report.run_id)}</h1>'
        f'<div class="meta">{" · ".join(facts)}</div>'
        f'<div class="meta" id="versions">{escape(versions)}</div></header>'
    )


def _summary(report: Report) -> str:
    counts = report.summary
    tiles = [("total", counts["total"], "drills")] + [(v, counts[v], v) for v in VERDICTS]
    html_tiles = "".join(
        f'<div class="tile verdict-{kind}" data-count="{kind}"><span class="n">{number}</span>{label}</div>'
        for kind, number, label in tiles
    )
    return (
        f'<section id="summary"><div class="tiles">{html_tiles}</div>'
        f'<div class="meta" id="run-message">{escape(report.message)}</div></section>'
    )


def _verdict(report: Report) -> str:
    """The first thing in the page: passed / failed / errored and the counts; a failed cycle step below."""
    steps = report.steps
    cycle = ""
    if steps is not None and steps.get("status") != "passed":
        cycle = f'<div class="meta">cycle failed at step {escape(str(steps.get("failed_step")))}</div>'
    return (
        f'<div id="verdict" class="outcome-{report.outcome}" data-outcome="{report.outcome}">'
        f"{escape(report.headline)}{cycle}</div>"
    )


def _engines(report: Report) -> str:
    """Verdict counts engine by engine: the page a maintainer reads to judge one engine by another."""
    rows = "".join(
        f'<tr data-engine="{escape(name)}"><td><code>{escape(name)}</code></td>'
        + "".join(f'<td class="verdict-{v}">{counts[v]}</td>' for v in VERDICTS)
        + "</tr>"
        for name, counts in report.by_engine.items()
    )
    if not rows:
        return ""
    head = "".join(f"<th>{v}</th>" for v in VERDICTS)
    return (
        f'<section id="engines"><h2>By engine</h2><table><tr><th>engine</th>{head}</tr>{rows}</table>'
        "</section>"
    )


def _attention(drills: Iterable[DrillEntry]) -> str:
    """The failures first: failed drills, then those the harness could not judge."""
    flagged = sorted(
        (drill for drill in drills if drill.verdict in ("fail", "unknown")), key=lambda d: d.verdict != "fail"
    )
    return _drill_list("attention", "Failures", flagged)


def _unsupported(drills: Iterable[DrillEntry]) -> str:
    """Drills the engine could not take (a missing feature): no fault, no pass."""
    return _drill_list("unsupported", "Unsupported", [d for d in drills if d.verdict == "unsupported"])


def _blind_spots(drills: Iterable[DrillEntry]) -> str:
    """Expected blind spots, below the failures and counted apart (as pytest counts xfail)."""
    blind = [drill for drill in drills if drill.blind_spots]
    if not blind:
        return ""
    items = "".join(
        f'<li data-nodeid="{escape(d.nodeid)}"><span class="name">{escape(d.nodeid)}</span>: '
        f"{escape(', '.join(d.blind_spots))}</li>"
        for d in blind
    )
    count = sum(len(d.blind_spots) for d in blind)
    return (
        f'<section id="blind-spots"><h2>Expected blind spots ({count})</h2><p class="meta">Checks the '
        "catalogue lets a weaker verify profile miss: counted apart, never a pass or a failure.</p>"
        f"<ul>{items}</ul></section>"
    )


def _drill_list(section: str, title: str, flagged: list[DrillEntry]) -> str:
    if not flagged:
        return ""
    items = "".join(
        f'<li class="verdict-{d.verdict}" data-nodeid="{escape(d.nodeid)}"><b>{d.verdict}</b> '
        f'<code>{escape(d.engine)}</code> <span class="name">{escape(d.nodeid)}</span>{_why(d)}'
        f"{_reproduce(d)}</li>"
        for d in flagged
    )
    return f'<section id="{section}"><h2>{title} ({len(flagged)})</h2><ul>{items}</ul></section>'


def _why(drill: DrillEntry) -> str:
    """Why a drill did not pass: its message (verdict, the source a failure breaks, the reason)."""
    return f'<div class="why">{escape(drill.message)}</div>' if drill.verdict != "pass" else ""


def _reproduce(drill: DrillEntry) -> str:
    return f'<code class="reproduce">{escape(drill.reproduce)}</code>' if drill.reproduce else ""


def _steps(steps: dict[str, Any] | None) -> str:
    if not steps:
        return ""
    rows = []
    for step in steps.get("steps", []):
        cells = [escape(step["name"]), escape(step["status"]), str(step["exit_code"])]
        cells += [f"{step['duration_seconds']:.1f} s", escape(str(step.get("detail", "")))]
        status = STEP_CLASSES.get(step["status"], "unknown")
        rows.append(f'<tr class="step verdict-{status}">' + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return (
        f'<section id="steps"><h2>Cycle steps: {escape(str(steps.get("status")))}</h2>'
        "<table><tr><th>step</th><th>status</th><th>exit</th><th>time</th><th>detail</th></tr>"
        f"{''.join(rows)}</table></section>"
    )


def _drill_matrix(drills: tuple[DrillEntry, ...]) -> str:
    """Every drill against pass / fail / unknown, grouped by module, with its evidence one click away."""
    modules: dict[str, list[DrillEntry]] = {}
    for drill in drills:
        modules.setdefault(drill.nodeid.split("::", 1)[0], []).append(drill)
    head = "<tr><th>drill</th>" + "".join(f'<th class="num">{v}</th>' for v in VERDICTS)
    bodies = []
    for module, members in modules.items():
        counts = " · ".join(f"{sum(d.verdict == v for d in members)} {v}" for v in VERDICTS)
        rows = [f'<tr class="module-row"><th colspan="7">{escape(module)} — {counts}</th></tr>']
        for drill in members:
            cells = "".join(
                f'<td class="cell {v}{" on" if drill.verdict == v else ""}">'
                f"{GLYPHS[v] if drill.verdict == v else ''}</td>"
                for v in VERDICTS
            )
            rows.append(
                f'<tr class="drill" data-nodeid="{escape(drill.nodeid)}" data-verdict="{drill.verdict}">'
                f'<td class="name">{escape(drill.nodeid.split("::", 1)[-1])}{_why(drill)}</td>{cells}'
                f'<td class="num">{drill.duration_seconds:.2f} s</td>'
                f'<td class="evidence">{_drill_details(drill)}</td></tr>'
            )
        bodies.append("<tbody>" + "".join(rows) + "</tbody>")
    return (
        '<section><h2>Drills × verdict</h2><table id="drill-matrix">'
        f"<thead>{head}<th>time</th><th>evidence</th></tr></thead>{''.join(bodies)}</table></section>"
    )


def _drill_details(drill: DrillEntry) -> str:
    parts = []
    if drill.fingerprints:
        parts.append("<b>fingerprints</b><br>" + "<br>".join(_fingerprint_lines(drill.fingerprints)))
    if drill.evidence_files:
        links = "<br>".join(
            f'<a class="evidence" href="{escape(quote(path))}">{escape(name)}</a>'
            for name, path in drill.evidence_files.items()
        )
        parts.append(f"<b>files</b><br>{links}")
    if drill.evidence:
        parts.append(f"<pre>{escape(json.dumps(drill.evidence, indent=1, default=str))}</pre>")
    if drill.reproduce:
        parts.append(f"<b>reproduce</b>{_reproduce(drill)}")
    if not parts:
        return ""
    counts = [(len(drill.evidence_files), "file"), (len(drill.fingerprints), "fingerprint")]
    label = ", ".join(_plural(number, noun) for number, noun in counts if number) or "details"
    return f'<details><summary>{label}</summary><div class="detail-body">{"<br>".join(parts)}</div></details>'


def _fingerprint_lines(fingerprints: dict[str, Any]) -> list[str]:
    lines = []
    for label, value in fingerprints.items():
        if isinstance(value, dict) and {"local", "remote"} <= value.keys():
            same = "=" if value["local"] == value["remote"] else "≠"
            text = f"{label}: local {str(value['local'])[:12]} {same} remote {str(value['remote'])[:12]}"
        else:
            text = f"{label}: {json.dumps(value, default=str)[:80]}"
        lines.append(f'<code class="fingerprint">{escape(text)}</code>')
    return lines


def _plural(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _corruption_matrix(drills: tuple[DrillEntry, ...]) -> str:
    """Each corruption case, one row per command/profile: expected, observed, and how it was judged."""
    checks = corruption_checks(drills)
    title = '<section id="corruption-matrix"><h2>Corruption matrix</h2>'
    if not checks:
        return title + '<p class="empty">No corruption-matrix drills in this run.</p></section>'
    verdicts = {drill.nodeid: drill.verdict for drill in drills}
    groups: dict[tuple[str, str], dict[str, list[str]]] = {}
    for check in sorted(checks, key=lambda c: (case_parts(c.case), c.key)):
        section, kind, side = case_parts(check.case)
        rows = groups.setdefault((section, kind), {}).setdefault(check.nodeid, [])
        case = f'<span title="{escape(check.case)}">{escape(side or check.case)}</span>' if not rows else ""
        verdict = verdicts[check.nodeid]
        noun = KIND_NOUNS[check.kind][0]
        note = "" if check.note == noun else f' <span class="why">{escape(check.note)}</span>'
        rows.append(
            f'<tr class="corruption {check.kind}" data-nodeid="{escape(check.nodeid)}" '
            f'data-check="{escape(check.key)}"><td class="name">{case}</td>'
            f"<td><code>{escape(check.key)}</code></td><td>{escape(check.expected)}</td>"
            f"<td>{escape(check.observed or '—')}</td>"
            f'<td class="verdict-{verdict}">{verdict}</td>'
            f'<td><span class="badge {check.kind}">{noun}</span>{note}</td></tr>'
        )
    bodies = [
        f'<tbody data-group="{escape(section)}.{escape(kind)}"><tr class="group"><th colspan="6">'
        f"{escape(section)} · {escape(kind)}</th></tr>"
        + "".join("".join(rows) for rows in cases.values())
        + "</tbody>"
        for (section, kind), cases in groups.items()
    ]
    cases_count = sum(len(cases) for cases in groups.values())
    counts = kind_counts(checks)
    summary = ", ".join(
        f'<span class="badge {kind}" data-kind="{kind}">{number} {KIND_NOUNS[kind][number != 1]}</span>'
        for kind, number in counts.items()
    )
    return (
        f'{title}<p class="meta" id="corruption-counts">{_plural(cases_count, "case")}, '
        f"{_plural(len(checks), 'command/profile check')}: {summary} "
        "(a blind spot is a check the catalogue allows the weaker profile to miss; never counted as "
        'detection)</p><div class="scroll"><table><thead><tr><th>side</th><th>command/profile</th>'
        "<th>expected</th><th>observed</th><th>drill</th><th>judged</th></tr></thead>"
        + "".join(bodies)
        + "</table></div></section>"
    )


def _durations(drills: tuple[DrillEntry, ...]) -> str:
    """Inline SVG bars of the slowest drills, coloured by verdict."""
    slowest = sorted(drills, key=lambda d: d.duration_seconds, reverse=True)[:CHART_LIMIT]
    title = '<section id="durations"><h2>Durations</h2>'
    if not slowest:
        return title + '<p class="empty">No drills ran.</p></section>'
    colours = {"pass": "#2da44e", "fail": "#cf222e", "unsupported": "#54aeff", "unknown": "#d4a72c"}
    longest = max(d.duration_seconds for d in slowest) or 1.0
    label_width, bar_width, row = 470, 560, 18
    bars = []
    for index, drill in enumerate(slowest):
        y = index * row
        width = max(1.0, drill.duration_seconds / longest * bar_width)
        name = drill.nodeid.split("::", 1)[-1]
        name = name if len(name) <= LABEL_CHARS else name[: LABEL_CHARS - 1] + "…"
        bars.append(
            f'<g class="bar" data-nodeid="{escape(drill.nodeid)}"><title>{escape(drill.nodeid)}</title>'
            f'<text x="{label_width - 6}" y="{y + 13}" text-anchor="end">{escape(name)}</text>'
            f'<rect x="{label_width}" y="{y + 3}" width="{width:.1f}" height="{row - 5}" '
            f'fill="{colours[drill.verdict]}"/>'
            f'<text x="{label_width + width + 4:.1f}" y="{y + 13}">{drill.duration_seconds:.2f} s</text></g>'
        )
    total = sum(d.duration_seconds for d in drills)
    shown = "all drills" if len(drills) == len(slowest) else f"the {len(slowest)} slowest of {len(drills)}"
    height = len(slowest) * row + 4
    return (
        f'{title}<p class="meta">{shown}; {total:.1f} s in drills altogether</p>'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_width + bar_width + 70}" height="{height}" '
        f'role="img" aria-label="drill durations" font-size="11" font-family="monospace">'
        f"{''.join(bars)}</svg></section>"
    )


def _run_files(paths: tuple[str, ...]) -> str:
    title = '<section id="run-files"><h2>Run files and evidence</h2>'
    if not paths:
        return title + '<p class="empty">No run files.</p></section>'
    links = "".join(f'<li><a href="{escape(quote(path))}">{escape(path)}</a></li>' for path in paths)
    return f'{title}<ul class="files">{links}</ul></section>'
