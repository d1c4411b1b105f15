"""`report merge`: one run report from the run folders of a campaign's shards.

The shards must have judged the same engine with the same seed and scale on the same
remote (the report's `remote_options`), else their verdicts do not belong in one report
(a usage error naming each shard's values). Each shard folder is kept whole under `shards/<name>/`; the merged
`drills.jsonl` points into it, and the report itself is built by the report's own
`write_run_files`, so the merged report reads (and replays) like any run's.
A drill two shards both ran, or one a shard was given but never finished, is named
in `merged_from` (report.json, `merge.json`, the page), never silently dropped.
"""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote

from usr_harness.campaign.provenance import SHARD_FILE
from usr_harness.errors import UsageError
from usr_harness.report.build import JUNIT_FILE, RunSettings, write_run_files
from usr_harness.report.evidence import DRILLS_FILE, move_large_evidence
from usr_harness.report.model import PAGE_FILE, REPORT_FILE, Report, load_report

SHARDS_DIR = "shards"
MERGE_FILE = "merge.json"
AGREED = ("seed", "scale", "engine", "engine_profile", "engine_cmd", "remote_options")


@dataclass(frozen=True)
class Shard:
    """One shard's run folder: its report (None when it wrote none) and its `shard.json` (None without)."""

    name: str
    source: Path
    report: Report | None
    record: dict[str, Any] | None

    @property
    def settings(self) -> dict[str, Any]:
        """What every shard of one campaign must share, from the report where there is one.

        `engine` is the name the drills recorded: None for a shard that reported no drill.
        """
        report = self.report
        if report is not None:
            return {
                "seed": report.seed,
                "scale": report.scale,
                "engine": report.engine if report.drills else None,
                "engine_profile": report.engine_profile,
                "engine_cmd": report.engine_cmd,
                "remote_options": list(report.remote_options),
            }
        record = self.record or {}
        remote = list(record.get("remote_options") or [])  # a record from before the field: loopback
        return {key: record.get(key) for key in AGREED} | {"engine": None, "remote_options": remote}

    @property
    def label(self) -> str:
        run_id = self.report.run_id if self.report else (self.record or {}).get("run_id", self.source.name)
        return f"{self.name} ({run_id})"


@dataclass
class MergeFindings:
    """What the merge must say out loud: drills run twice or never, shards not given."""

    duplicates: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    missing_shards: list[str] = field(default_factory=list)
    not_drills: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.duplicates or self.missing or self.missing_shards)

    def as_dict(self) -> dict[str, Any]:
        return {
            "duplicates": [{"nodeid": n, "runs": runs} for n, runs in sorted(self.duplicates.items())],
            "missing": [{"nodeid": n, "why": why} for n, why in sorted(self.missing.items())],
            "missing_shards": self.missing_shards,
            "not_drills": sorted(self.not_drills),
        }


@dataclass(frozen=True)
class MergeResult:
    report: Report
    findings: MergeFindings
    provenance: dict[str, Any]


def read_shard(path: Path, position: int) -> Shard:
    """A shard run folder (or its report.json); one without report.json needs a `shard.json`."""
    folder = path if path.is_dir() else path.parent
    record_path = folder / SHARD_FILE
    record = _read_record(record_path) if record_path.is_file() else None
    report = None
    if (folder / REPORT_FILE).is_file() or record is None:
        report = load_report(folder)
    group = (record or {}).get("group")
    return Shard(f"shard-{group or position}", folder, report, record)


def _read_record(path: Path) -> dict[str, Any]:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(record, dict):
            raise ValueError("not a JSON object")
        return record
    except ValueError as error:
        raise UsageError(f"{path} is not a shard record: {error}", paths=[str(path)]) from None


def check_agreement(shards: list[Shard]) -> None:
    """Shards that judged another engine, seed, scale or remote cannot share a report: name every value."""
    if not shards:
        raise UsageError("report merge needs at least one shard run folder")
    for key in AGREED:
        values = {s.label: s.settings[key] for s in shards if key != "engine" or s.settings[key]}
        if len({json.dumps(value) for value in values.values()}) > 1:
            listed = ", ".join(f"{label}: {value!r}" for label, value in values.items())
            raise UsageError(
                f"shards disagree on {key}; merge only shards of one campaign ({listed})",
                paths=[str(shard.source) for shard in shards],
            )


def find_problems(
    shards: list[Shard], lines: dict[str, list[dict[str, Any]]], expected: list[str] | None = None
) -> MergeFindings:
    """Pure: drills in more than one shard, drills given (or selected) but not reported, shards not given.

    `lines` holds each shard's drill lines by shard name; `expected` the whole selection when known.
    """
    findings = MergeFindings()
    seen: dict[str, list[dict[str, str]]] = {}
    for shard in shards:
        for line in lines.get(shard.name, []):
            seen.setdefault(line["nodeid"], []).append({"shard": shard.label, "verdict": line["verdict"]})
    findings.duplicates = {nodeid: runs for nodeid, runs in seen.items() if len(runs) > 1}
    given: dict[str, Shard] = {}
    finished: set[str] = set()
    for shard in shards:
        record = shard.record or {}
        given.update({nodeid: shard for nodeid in record.get("assigned", [])})
        finished.update(set(record.get("finished", [])) - set(record.get("drills", [])))
    for nodeid in sorted(set(given) | set(expected or [])):
        if nodeid in seen:
            continue
        if nodeid in finished:
            findings.not_drills.append(nodeid)
        elif nodeid in given:
            status = (given[nodeid].record or {}).get("status", "unknown")
            findings.missing[nodeid] = f"given to {given[nodeid].label}, which never finished it ({status})"
        else:
            findings.missing[nodeid] = "in the selection, but no shard given was assigned it"
    findings.missing_shards = _missing_shards(shards)
    return findings


def load_shards(paths: list[Path]) -> list[Shard]:
    """Read every shard folder and check they agree, before anything is written anywhere."""
    shards = _unique_names([read_shard(path, position) for position, path in enumerate(paths, 1)])
    check_agreement(shards)
    return shards


def merge_runs(shards: list[Shard], out_dir: Path, expected: list[str] | None = None) -> MergeResult:
    """Merge shards (from `load_shards`) into `out_dir` (which exists): report.json, index.html, junit.xml."""
    placed = {shard.name: _place(shard, out_dir) for shard in shards}
    lines = {name: _shard_lines(folder, out_dir) for name, folder in placed.items()}
    findings = find_problems(shards, lines, expected)
    kept: dict[str, dict[str, Any]] = {}
    for shard in shards:
        for line in lines[shard.name]:
            kept.setdefault(line["nodeid"], line)
    (out_dir / DRILLS_FILE).write_text(
        "".join(json.dumps(line, sort_keys=True) + "\n" for line in kept.values()), encoding="utf-8"
    )
    _merge_junit([placed[shard.name] / JUNIT_FILE for shard in shards], out_dir / JUNIT_FILE)
    provenance = {
        "shards": [_provenance(shard, placed[shard.name], out_dir) for shard in shards],
        **findings.as_dict(),
    }
    (out_dir / MERGE_FILE).write_text(json.dumps(provenance, indent=2) + "\n", encoding="utf-8")
    report = write_run_files(out_dir, _settings(shards))
    _add_provenance(out_dir, report, provenance)
    return MergeResult(report, findings, provenance)


def _settings(shards: list[Shard]) -> RunSettings:
    first = shards[0]
    settings = first.settings
    rootdir = first.report.rootdir if first.report else (first.record or {}).get("rootdir", ".")
    return RunSettings(
        seed=int(settings["seed"]),
        engine_cmd=settings["engine_cmd"],
        scale=str(settings["scale"]),
        rootdir=Path(rootdir),
        engine_profile=settings["engine_profile"],
        remote_options=tuple(settings["remote_options"]),
    )


def _unique_names(shards: list[Shard]) -> list[Shard]:
    """Two folders claiming one group keep both (their drills then show up as duplicates)."""
    named: list[Shard] = []
    used: set[str] = set()
    for position, shard in enumerate(shards, 1):
        name = shard.name if shard.name not in used else f"{shard.name}-{position}"
        used.add(name)
        named.append(Shard(name, shard.source, shard.report, shard.record))
    return named


def _missing_shards(shards: list[Shard]) -> list[str]:
    """Groups of a split (`--splits N`) that no folder given ran."""
    splits = {record.get("splits") for record in (s.record or {} for s in shards) if record.get("splits")}
    groups = {(s.record or {}).get("group") for s in shards}
    return [
        f"group {group} of {total}"
        for total in sorted(splits)
        for group in range(1, total + 1)
        if group not in groups
    ]


def _place(shard: Shard, out_dir: Path) -> Path:
    """The shard's folder under `out_dir/shards/`: a campaign's are there already, others are copied."""
    target = out_dir / SHARDS_DIR / shard.name
    if shard.source.resolve().parent == (out_dir / SHARDS_DIR).resolve():
        return shard.source
    if target.exists():
        raise UsageError(f"{target} exists already: merge into an empty folder", paths=[str(target)])
    shutil.copytree(shard.source, target, symlinks=True)
    return target


def _shard_lines(folder: Path, out_dir: Path) -> list[dict[str, Any]]:
    """The shard's drill lines with evidence paths made relative to the merged run folder."""
    prefix = folder.resolve().relative_to(out_dir.resolve()).as_posix()
    lines = move_large_evidence(folder) if (folder / DRILLS_FILE).exists() else []
    for line in lines:
        line["evidence_files"] = {k: f"{prefix}/{v}" for k, v in line.get("evidence_files", {}).items()}
    return lines


def _merge_junit(files: list[Path], target: Path) -> None:
    """One `<testsuites>` holding every shard's suites (their names say which shard ran them)."""
    present = [path for path in files if path.is_file()]
    if not present:
        return
    merged = ElementTree.Element("testsuites", {"name": "usr-harness merged shards"})
    for path in present:
        root = ElementTree.parse(path).getroot()
        suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
        for suite in suites:
            suite.set("name", f"{suite.get('name', 'pytest')} ({path.parent.name})")
            merged.append(suite)
    ElementTree.ElementTree(merged).write(target, encoding="utf-8", xml_declaration=True)


def _provenance(shard: Shard, folder: Path, out_dir: Path) -> dict[str, Any]:
    record = shard.record or {}
    report = shard.report
    return {
        "name": shard.name,
        "folder": folder.resolve().relative_to(out_dir.resolve()).as_posix(),
        "source": str(shard.source.resolve()),
        "run_id": report.run_id if report else record.get("run_id", shard.source.name),
        "host": record.get("host"),
        "python": record.get("python"),
        "platform": record.get("platform"),
        "group": record.get("group"),
        "splits": record.get("splits"),
        "selection": record.get("selection"),
        "status": record.get("status"),
        "summary": report.summary if report else None,
        "git_commit": report.git_commit if report else None,
    }


def _add_provenance(out_dir: Path, report: Report, provenance: dict[str, Any]) -> None:
    """`merged_from` in report.json and a Shards section on the page (the report model has no slot)."""
    data = report.as_dict() | {"merged_from": provenance}
    (out_dir / REPORT_FILE).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    page = out_dir / PAGE_FILE
    html = page.read_text(encoding="utf-8")
    page.write_text(html.replace("\n</body>", "\n" + shards_section(provenance) + "\n</body>", 1))


def shards_section(provenance: dict[str, Any]) -> str:
    """The page's Shards section: where each shard ran, then every drill the merge had to name."""
    rows = "".join(
        f'<tr><td><a href="{escape(quote(shard["folder"]))}/index.html">{escape(shard["name"])}</a></td>'
        + "".join(
            f"<td>{escape(str(value))}</td>"
            for value in (
                shard["run_id"],
                shard["host"] or "unknown",
                f"{shard['group']}/{shard['splits']}" if shard["splits"] else "-",
                _selection_text(shard["selection"]),
                shard["status"] or "-",
                ", ".join(f"{v} {k}" for k, v in (shard["summary"] or {}).items()) or "no report",
            )
        )
        + "</tr>"
        for shard in provenance["shards"]
    )
    head = "".join(
        f"<th>{name}</th>" for name in ("shard", "run", "host", "group", "selection", "status", "drills")
    )
    named = [
        *(
            f"run twice: {d['nodeid']} ({', '.join(r['shard'] + ' ' + r['verdict'] for r in d['runs'])})"
            for d in provenance["duplicates"]
        ),
        *(f"missing: {m['nodeid']}: {m['why']}" for m in provenance["missing"]),
        *(f"shard not given: {group}" for group in provenance["missing_shards"]),
    ]
    problems = (
        "<ul>" + "".join(f'<li class="name">{escape(text)}</li>' for text in named) + "</ul>"
        if named
        else '<p class="empty">Every drill given to a shard was reported exactly once.</p>'
    )
    return f'<section id="shards"><h2>Shards</h2><table><tr>{head}</tr>{rows}</table>{problems}</section>'


def _selection_text(selection: dict[str, Any] | None) -> str:
    """`-k EXPR` / `-m EXPR` as the shard was given them, else the whole suite."""
    if not selection:
        return "unknown"
    given = [
        f"-k {selection['keyword']}" if selection.get("keyword") else "",
        f"-m {selection['markexpr']}" if selection.get("markexpr") else "",
    ]
    return " ".join(part for part in given if part) or "whole suite"
