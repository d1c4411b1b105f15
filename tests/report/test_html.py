"""index.html: self-contained, escaped, and (rendered in headless Chromium) showing every drill."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.report.conftest import (
    CORRUPTION,
    HOSTILE,
    REAL_RUN,
    SAMPLE_LINES,
    SETTINGS,
    STEPS,
    drill_line,
    make_run,
)
from usr_harness.report.build import write_run_files
from usr_harness.report.html import render_page

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VOID = {"meta", "br", "img", "input", "link", "hr", "col", "source", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node] = field(default_factory=list)
    text: str = ""

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()

    def find(self, tag: str | None = None, **attrs: str) -> list[Node]:
        """Nodes with `tag` whose attributes hold `attrs` (`class_` matches one class among several)."""
        wanted = {key.rstrip("_"): value for key, value in attrs.items()}
        return [
            node
            for node in self.walk()
            if (tag is None or node.tag == tag)
            and all(
                value in node.attrs.get(key, "").split() if key == "class" else node.attrs.get(key) == value
                for key, value in wanted.items()
            )
        ]

    @property
    def all_text(self) -> str:
        return self.text + "".join(child.all_text for child in self.children)


class TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {key: value or "" for key, value in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        while len(self.stack) > 1 and self.stack.pop().tag != tag:
            pass

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(Node("#text", {}, text=data))


def parse(markup: str) -> Node:
    builder = TreeBuilder()
    builder.feed(markup)
    return builder.root


def rendered_dom(page: Path, profile: Path) -> Node:
    """What Chromium built from the page (after its own parsing and layout), as a tree."""
    done = subprocess.run(
        [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return parse(done.stdout)


@pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install -y chromium)"
)
def test_chromium_renders_every_drill_matrix_and_chart(sample_run: Path, tmp_path: Path) -> None:
    report = write_run_files(sample_run, SETTINGS, steps=STEPS)
    dom = rendered_dom(sample_run / "index.html", tmp_path / "chromium-profile")

    tiles = {tile.attrs["data-count"]: tile.all_text for tile in dom.find("div", class_="tile")}
    assert tiles == {
        "total": "6drills",
        "pass": "2pass",
        "fail": "2fail",
        "unsupported": "1unsupported",
        "unknown": "1unknown",
    }
    body = dom.find("body")[0]
    first = next(child for child in body.children if child.tag != "#text")
    assert first.attrs["id"] == "verdict" and first.attrs["data-outcome"] == "failed"
    assert first.all_text.startswith("failed: 6 drills: 2 pass, 2 fail, 1 unsupported, 1 unknown")
    assert "cycle failed at step run:drills" in first.all_text
    assert (
        len(dom.find("li", class_="verdict-fail")) == 2 and len(dom.find("li", class_="verdict-unknown")) == 1
    )

    rows = {row.attrs["data-nodeid"]: row for row in dom.find("tr", class_="drill")}
    assert rows.keys() == {drill.nodeid for drill in report.drills}
    for drill in report.drills:
        row = rows[drill.nodeid]
        assert row.attrs["data-verdict"] == drill.verdict
        assert [cell.attrs["class"] for cell in row.find("td", class_="on")] == [f"cell {drill.verdict} on"]
    assert HOSTILE in rows and not dom.find("script")
    unknown_row = rows[f"{CORRUPTION}[meta.byte-flip-local]"].find("td", class_="name")[0]
    assert "known blind spot(s), not a pass: diff/size" in unknown_row.find("div", class_="why")[0].all_text

    matrix = dom.find(id="corruption-matrix")[0]
    kinds = {
        (row.attrs["data-nodeid"].partition("[")[2], row.attrs["data-check"]): row.attrs["class"]
        for row in matrix.find("tr", class_="corruption")
    }
    assert kinds == {
        ("derived.byte-flip-local]", "diff/strict"): "corruption match",
        ("derived.byte-flip-local]", "pull/strict"): "corruption match",
        ("meta.byte-flip-local]", "diff/strict"): "corruption match",
        ("meta.byte-flip-local]", "diff/size"): "corruption blind-spot",
        ("events.truncate-remote]", "diff/strict"): "corruption match",
        ("events.truncate-remote]", "pull/strict"): "corruption mismatch",
    }
    counts = dom.find(id="corruption-counts")[0].all_text
    assert "3 cases, 6 command/profile checks: 4 as declared, 1 blind spot, 1 mismatch, 0 unjudged" in counts
    mismatch = matrix.find("tr", class_="mismatch")[0].all_text
    assert "pull/strict: expected events, got unchanged" in mismatch

    attention = {item.attrs["data-nodeid"]: item for item in dom.find(id="attention")[0].find("li")}
    unsupported = dom.find(id="unsupported")[0].find("li")
    assert [item.attrs["data-nodeid"] for item in unsupported] == [HOSTILE] and HOSTILE not in attention
    assert "cd /nonexistent/rootdir && pytest" in unsupported[0].find("code", class_="reproduce")[0].all_text
    assert (
        "known blind spot(s), not a pass: diff/size"
        in attention[f"{CORRUPTION}[meta.byte-flip-local]"].all_text
    )

    bars = dom.find("g", class_="bar")
    assert [bar.attrs["data-nodeid"] for bar in bars][:2] == [line["nodeid"] for line in SAMPLE_LINES[:2]]
    assert len(bars) == 6 and len(dom.find("rect")) == 6
    assert [step.attrs["class"] for step in dom.find("tr", class_="step")] == [
        "step verdict-pass",
        "step verdict-fail",
        "step verdict-unknown",
    ]

    links = [a.attrs["href"] for a in dom.find("a")]
    assert "evidence/sshd.log" in links and "junit.xml" in links
    assert sum(link.endswith(".audit.json") for link in links) == 1
    assert all((sample_run / link).is_file() for link in links)


def test_page_is_self_contained_and_escaped(sample_run: Path) -> None:
    write_run_files(sample_run, SETTINGS)
    markup = (sample_run / "index.html").read_text()
    assert not [token for token in ("<script", "<link", "@import", "src=", "url(") if token in markup]
    assert re.findall(r"https?://[^\"' ]+", markup) == ["http://www.w3.org/2000/svg"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in markup


def test_empty_states_when_nothing_ran(tmp_path: Path) -> None:
    passing = [
        line for line in SAMPLE_LINES if line["verdict"] == "pass" and "corruption" not in line["nodeid"]
    ]
    dom = parse(render_page(write_run_files(make_run(tmp_path / "run", passing), SETTINGS)))
    assert "No corruption-matrix drills" in dom.find(id="corruption-matrix")[0].all_text
    verdict = dom.find(id="verdict")[0]
    assert verdict.all_text == "passed: 1 drills: 1 pass, 0 fail, 0 unsupported, 0 unknown"
    assert verdict.attrs["class"] == "outcome-passed" and not dom.find(id="attention")
    empty = tmp_path / "empty"
    empty.mkdir()
    dom = parse(render_page(write_run_files(empty, SETTINGS)))
    assert "No drills ran." in dom.find(id="durations")[0].all_text and not dom.find("tr", class_="drill")


#: Appended to a copy of the page (the page itself has no scripts): open every `details` as a reader
#: would, then write each measured box into the DOM, which `--dump-dom` prints after layout.
LAYOUT_PROBE = """<script>
addEventListener("load", () => {
  for (const details of document.querySelectorAll("details")) details.open = true;
  for (const cell of document.querySelectorAll("td.name, td.evidence")) {
    const box = cell.getBoundingClientRect();
    cell.setAttribute("data-width", Math.round(box.width));
  }
});
</script>"""


def laid_out(page: Path, profile: Path, width: int = 1280) -> Node:
    """The page as Chromium lays it out in a `width` px window with every `details` opened."""
    probe = page.with_name("layout-probe.html")
    probe.write_text(page.read_text().replace("</body>", LAYOUT_PROBE + "</body>"))
    flags = [f"--window-size={width},900", "--virtual-time-budget=3000", f"--user-data-dir={profile}"]
    done = subprocess.run(
        [CHROMIUM, *CHROMIUM_FLAGS, *flags, "--dump-dom", probe.as_uri()],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return parse(done.stdout)


@pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install -y chromium)"
)
def test_opened_details_leave_drill_names_readable(tmp_path: Path) -> None:
    """Opening a drill's details used to squeeze its name column to one character a line."""
    names = [
        f"drills/test_x.py::test_a_long_descriptive_drill_name[case-{i}-remote-byte-flip]" for i in range(3)
    ]
    bulky = {"failure": "pull/strict: expected sidecars, got verify: " + "y" * 900, "rows": list(range(200))}
    lines = [drill_line(name, "fail", 1.0, **bulky) for name in names]
    write_run_files(make_run(tmp_path / "run", lines), SETTINGS)
    dom = laid_out(tmp_path / "run" / "index.html", tmp_path / "chromium-profile")
    cells = dom.find(id="drill-matrix")[0].find("td", class_="name")
    assert len(cells) == 3 and all("data-width" in cell.attrs for cell in cells)
    # 22em of 12 px monospace: the longest name fits on two or three lines, not one letter a line.
    assert min(int(cell.attrs["data-width"]) for cell in cells) >= 250, [c.attrs["data-width"] for c in cells]
    evidence = dom.find(id="drill-matrix")[0].find("td", class_="evidence")
    assert max(int(cell.attrs["data-width"]) for cell in evidence) < 1280 * 0.6


@pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install -y chromium)"
)
def test_chromium_shows_the_blind_spots_of_a_real_corruption_run(tmp_path: Path) -> None:
    lines = [json.loads(text) for text in REAL_RUN.read_text().splitlines()]
    write_run_files(make_run(tmp_path / "run", lines), SETTINGS)
    dom = laid_out(tmp_path / "run" / "index.html", tmp_path / "chromium-profile")
    listed = sum(len(line["evidence"]["blind_spots"]) for line in lines)
    counts = dom.find(id="corruption-counts")[0].all_text
    assert "20 cases" in counts and f"{listed} blind spots" in counts and "0 mismatches" in counts
    blind_rows = dom.find("tr", class_="blind-spot")
    assert len(blind_rows) == listed and all("known blind spot" in row.all_text for row in blind_rows)
    names = [cell for cell in dom.find(id="corruption-matrix")[0].find("td", class_="name") if cell.all_text]
    assert len(names) == 20 and {cell.all_text for cell in names} == {"local", "remote"}
    groups = [body.attrs["data-group"] for body in dom.find(id="corruption-matrix")[0].find("tbody")]
    assert groups == sorted(groups) and len(groups) == len(set(groups))


def _passing_corruption_run(folder: Path) -> Path:
    """A passing run as today's corruption drill leaves it: blind spots are evidence of a pass."""
    blind = drill_line(
        f"{CORRUPTION}[meta.byte-flip-local]",
        "pass",
        1.5,
        expected={"diff/strict": "changed", "diff/size": "blind"},
        observed={"diff/strict": "changed", "diff/size": "unchanged"},
        blind_spots=["diff/size"],
    )
    plain = drill_line(
        f"{CORRUPTION}[derived.byte-flip-remote]",
        "pass",
        2.0,
        expected={"validate/strict": "verify", "diff/strict": "changed"},
        observed={"validate/strict": "verify", "diff/strict": "changed"},
    )
    return make_run(folder, [blind, plain])


def test_a_passing_run_opens_with_its_verdict_and_counts_blind_spots_apart(tmp_path: Path) -> None:
    """A passing cycle was headlined "drills need attention", its first screen the expected blind spots."""
    report = write_run_files(_passing_corruption_run(tmp_path / "run"), SETTINGS)
    dom = parse(render_page(report))
    body = dom.find("body")[0]
    sections = [child.attrs.get("id") for child in body.children if child.tag != "#text"]
    assert sections[:2] == ["verdict", None] and "attention" not in sections
    assert dom.find(id="verdict")[0].all_text == (
        "passed: 2 drills: 2 pass, 0 fail, 0 unsupported, 0 unknown (1 expected blind spot)"
    )
    assert "attention" not in render_page(report).lower()
    assert sections.index("blind-spots") > sections.index("summary")
    assert "diff/size" in dom.find(id="blind-spots")[0].all_text


def test_corruption_matrix_grouped_by_section_and_kind_sorted(tmp_path: Path) -> None:
    report = write_run_files(_passing_corruption_run(tmp_path / "run"), SETTINGS)
    markup = render_page(report)
    matrix = parse(markup).find(id="corruption-matrix")[0]
    groups = [body.attrs["data-group"] for body in matrix.find("tbody")]
    assert groups == ["derived.byte-flip", "meta.byte-flip"]
    checks = [row.attrs["data-check"] for row in matrix.find("tbody")[0].find("tr", class_="corruption")]
    assert checks == ["diff/strict", "validate/strict"]
    assert [row.all_text for row in matrix.find("tr", class_="group")] == [
        "derived · byte-flip",
        "meta · byte-flip",
    ]
    assert "as declared as declared" not in matrix.all_text.replace("</span> <span", "")
    judged = [row.find("td")[-1].all_text for row in matrix.find("tr", class_="match")]
    assert judged == ["as declared", "as declared", "as declared"]


#: Measures where the verdict line lands in the page's first viewport and posts it to the frame holding
#: the page (headless Chromium's window is at least 500 px wide, so a phone's 390 px is an iframe).
VIEWPORT_PROBE = """<script>
addEventListener("load", () => {
  const box = document.getElementById("verdict").getBoundingClientRect();
  const sides = [...document.querySelectorAll("#corruption-matrix td.name span")];
  parent.postMessage({top: Math.round(box.top), bottom: Math.round(box.bottom),
    pageWidth: document.documentElement.scrollWidth,
    sideHeight: Math.max(...sides.map((side) => Math.round(side.getBoundingClientRect().height))),
    right: Math.round(box.right), viewportWidth: innerWidth, viewportHeight: innerHeight,
    first: document.body.firstElementChild.id}, "*");
});
</script>"""
FRAME = """<!DOCTYPE html><html><body style="margin:0"><div id="probe"></div>
<iframe src="{page}" width="{width}" height="{height}" style="border:0"></iframe><script>
addEventListener("message", (event) => {{
  const probe = document.getElementById("probe");
  for (const [key, value] of Object.entries(event.data)) probe.dataset[key] = value;
}});
</script></body></html>"""


@pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install -y chromium)"
)
@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
def test_chromium_shows_the_verdict_without_scrolling(tmp_path: Path, width: int, height: int) -> None:
    """At desktop width and at a phone's 390 px the verdict line is the page's first thing, in full view."""
    run = write_run_files(make_run(tmp_path / "run", SAMPLE_LINES), SETTINGS, steps=STEPS)
    page = tmp_path / "run" / "index.html"
    page.with_name("viewport-probe.html").write_text(
        page.read_text().replace("</body>", VIEWPORT_PROBE + "</body>")
    )
    probe = page.with_name("frame.html")
    probe.write_text(FRAME.format(page="viewport-probe.html", width=width, height=height))
    flags = [f"--window-size={max(width, 500)},{height}", "--virtual-time-budget=3000"]
    shot = tmp_path / f"verdict-{width}.png"
    for action in ("--dump-dom", f"--screenshot={shot}"):
        done = subprocess.run(
            [
                CHROMIUM,
                *CHROMIUM_FLAGS,
                *flags,
                f"--user-data-dir={tmp_path / 'profile'}",
                action,
                probe.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        if action == "--dump-dom":
            measured = parse(done.stdout).find(id="probe")[0].attrs
    assert shot.is_file(), f"no screenshot at {shot}"
    where = f"{measured} (screenshot: {shot})"
    assert measured["data-first"] == "verdict", where
    assert int(measured["data-viewport-width"]) == width, where
    assert int(measured["data-top"]) >= 0 and int(measured["data-bottom"]) <= min(height, 300), where
    assert int(measured["data-right"]) <= width, where
    # Wide tables scroll inside their section; the page itself never scrolls sideways.
    assert int(measured["data-page-width"]) <= width, where
    # The corruption matrix's side label stays on one line ("loca" / "l" at 390 px before).
    assert int(measured["data-side-height"]) < 24, where
    assert run.outcome == "failed"
