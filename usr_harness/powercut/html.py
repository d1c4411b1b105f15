"""The power-loss section of a report: one HTML fragment (a `<section>`, no scripts, no external assets).

Kept apart from `usr_harness/report/html.py` so the report page can take it in as it is, and so a
campaign folder (`usr-harness powercut`) has a page of its own without a drill run around it.
"""

from __future__ import annotations

from html import escape


def _row(cut: dict) -> str:
    points = f"{cut['first_k']}" if cut["first_k"] == cut["last_k"] else f"{cut['first_k']}..{cut['last_k']}"
    evidence = cut.get("evidence", {})
    found = evidence.get("version", "")
    problem = escape(cut.get("problem") or "")
    verdict = cut.get("verdict", "pass" if not problem else "fail")
    return (
        f'<tr class="{verdict}"><td>{points}</td><td>{verdict}</td><td>{escape(found)}</td>'
        f"<td>{problem}</td></tr>"
    )


def render_fragment(report: dict) -> str:
    """A `<section>` from a campaign's or a drill's power-loss report (the `powercut.json` shape)."""
    cuts = report.get("cuts", [])
    rows = "\n".join(_row(cut) for cut in cuts)
    failed = sum(cut.get("problem") is not None for cut in cuts)
    summary = (
        f"{escape(str(report.get('direction', '')))} of {escape(str(report.get('dataset', '')))} "
        f"({escape(str(report.get('policy', '')))}): {report.get('states_checked', len(cuts))} states, "
        f"{report.get('cut_points_checked', '?')} of {report.get('cut_points', '?')} cut points checked, "
        f"{failed} failing"
    )
    operations = "\n".join(f"<li>{escape(op)}</li>" for op in report.get("operations", []))
    return (
        '<section class="power-loss">\n'
        "<h2>Power loss</h2>\n"
        f"<p>{summary}</p>\n"
        "<table><thead><tr><th>cut after op</th><th>verdict</th><th>version after recovery</th>"
        "<th>problem</th></tr></thead>\n"
        f"<tbody>\n{rows}\n</tbody></table>\n"
        f"<details><summary>operations recorded</summary><ol>\n{operations}\n</ol></details>\n"
        "</section>\n"
    )
