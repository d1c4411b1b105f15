"""`kill-matrix.html`: the flaws run as one self-contained HTML section a report page can include.

It reads the JSON `usr-harness flaws` writes (`kill-matrix.json`), never the flaws package.
"""

from __future__ import annotations

from html import escape
from typing import Any

CLASSES = {
    "caught": "pass",
    "survivor": "fail",
    "broken": "fail",
    "blind": "unknown",
    "equivalent": "unknown",
}


def kill_matrix_html(matrix: dict[str, Any]) -> str:
    """A `<section>`: the counts, then one row per flaw (status, first failing drill or why not)."""
    counts = ", ".join(f"{n} {status}" for status, n in matrix["counts"].items() if n)
    rows = []
    for flaw in matrix["flaws"]:
        why = flaw["caught_by"] or flaw["reason"] or ""
        rows.append(
            f'<tr class="verdict-{CLASSES[flaw["status"]]}"><td><code>{escape(flaw["name"])}</code></td>'
            f"<td>{escape(flaw['area'])}</td><td>{escape(flaw['summary'])}</td>"
            f"<td>{escape(flaw['status'])}</td><td><code>{escape(why)}</code></td></tr>"
        )
    return (
        '<section id="kill-matrix"><h2>Kill matrix: single-flaw engines against the drills</h2>'
        f"<p>{len(matrix['flaws'])} flaw(s): {escape(counts)}</p>"
        "<table><tr><th>flaw</th><th>area</th><th>what is broken</th><th>status</th>"
        "<th>first failing drill / why none</th></tr>" + "".join(rows) + "</table></section>\n"
    )
