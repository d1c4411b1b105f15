"""`report merge`: shard runs of one campaign become one report, and nothing they ran (or did not) is lost."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from tests.cli_runs import run_harness
from tests.report.conftest import SAMPLE_LINES, SETTINGS, make_run, run_tiny
from usr_harness.campaign.plan import PROVENANCE_PLUGIN
from usr_harness.errors import UsageError
from usr_harness.report.build import RunSettings, write_run_files
from usr_harness.report.fingerprint import fingerprint_tree
from usr_harness.report.merge import MERGE_FILE, find_problems, load_shards, merge_runs
from usr_harness.report.model import load_report
from usr_harness.report.replay import compare_reports, replay

STEADY = "not wall_clock"
NEVER = (
    "drills/test_x.py::test_never_finished"  # test_wall_clock's fingerprint changes by design on every run
)


def run_shard(root: Path, run_dir: Path, seed: int, group: int, splits: int) -> None:
    """One pytest-split group of the tiny drills, with the provenance plugin, as a campaign runs it."""
    args = [str(root / "drills" / "test_tiny.py"), "-q", "-p", "no:cacheprovider", f"--rootdir={root}"]
    args += [f"--drill-seed={seed}", f"--drill-report-dir={run_dir}", f"--junitxml={run_dir / 'junit.xml'}"]
    args += ["-p", PROVENANCE_PLUGIN, "-k", STEADY, f"--splits={splits}", f"--group={group}"]
    args += [f"--durations-path={root / 'durations.json'}"]
    pytest.main(args)


def test_two_shards_merge_to_the_verdicts_and_fingerprints_of_one_run(
    tiny_drills: Path, tmp_path: Path
) -> None:
    whole = tmp_path / "whole"
    run_tiny(tiny_drills, whole, 7, STEADY)
    shards = [tmp_path / f"shard-{group}" for group in (1, 2)]
    for group, folder in enumerate(shards, 1):
        run_shard(tiny_drills, folder, 7, group, 2)
    shard_counts = [len(load_report(folder).drills) for folder in shards]
    assert all(shard_counts) and sum(shard_counts) == 4

    out = tmp_path / "merged"
    out.mkdir()
    result = merge_runs(load_shards(shards), out)
    one, merged = load_report(whole), load_report(out)
    assert {d.nodeid: d.verdict for d in merged.drills} == {d.nodeid: d.verdict for d in one.drills}
    comparisons = compare_reports(one, merged)
    assert all(c.matches for c in comparisons) and {c.compared_prints for c in comparisons} == {0, 1}
    assert result.findings.clean and merged.seed == 7 and merged.engine == "bundled"

    data = json.loads((out / "report.json").read_text())
    schema = json.loads(resources.files("usr_harness.report").joinpath("schema.json").read_text())
    assert list(jsonschema.Draft202012Validator(schema).iter_errors(data)) == []
    shards_seen = data["merged_from"]["shards"]
    assert [(s["name"], s["group"], s["splits"], s["folder"]) for s in shards_seen] == [
        ("shard-1", 1, 2, "shards/shard-1"),
        ("shard-2", 2, 2, "shards/shard-2"),
    ]
    assert all(s["host"] and s["selection"]["keyword"] == STEADY for s in shards_seen)
    cases = ElementTree.parse(out / "junit.xml").getroot().iter("testcase")
    assert len(list(cases)) == 4
    page = (out / "index.html").read_text()
    assert '<section id="shards">' in page and "-k not wall_clock" in page
    assert '<a href="shards/shard-2/index.html">shard-2</a>' in page
    assert json.loads((out / MERGE_FILE).read_text()) == data["merged_from"]

    again, replayed = replay(merged, tmp_path / "again")
    assert len(again.drills) == 4 and all(c.matches for c in replayed)


def shard_record(
    group: int, splits: int, assigned: list[str], finished: list[str], drills: list[str]
) -> dict:
    return {
        "status": "exited 1",
        "host": f"runner-{group}",
        "run_id": f"run-{group}",
        "group": group,
        "splits": splits,
        "selection": {"args": ["drills"], "keyword": None, "markexpr": None},
        "assigned": assigned,
        "finished": finished,
        "drills": drills,
    }


def hand_made_shards(tmp_path: Path, seeds: tuple[int, int] = (7, 7)) -> list[Path]:
    """Shard 1 of 3 ran lines 0-3, shard 2 lines 3-5 (line 3 twice); shard 3 was never given."""
    nodeids = [line["nodeid"] for line in SAMPLE_LINES]
    parts = [SAMPLE_LINES[:4], SAMPLE_LINES[3:]]
    assigned = [
        [*nodeids[:4], NEVER],
        [*nodeids[3:], "drills/test_x.py::test_no_drill"],
    ]
    folders = []
    for group, (lines, given) in enumerate(zip(parts, assigned, strict=True), 1):
        folder = make_run(tmp_path / f"shard-{group}", lines)
        ran = [line["nodeid"] for line in lines]
        finished = ran + (["drills/test_x.py::test_no_drill"] if group == 2 else [])
        (folder / "shard.json").write_text(json.dumps(shard_record(group, 3, given, finished, ran)))
        seed = seeds[group - 1]
        write_run_files(folder, RunSettings(seed, None, "small", SETTINGS.rootdir))
        folders.append(folder)
    return folders


def test_duplicates_missing_drills_and_shards_are_named(tmp_path: Path) -> None:
    folders = hand_made_shards(tmp_path)
    out = tmp_path / "merged"
    out.mkdir()
    result = merge_runs(load_shards(folders), out, expected=["drills/test_x.py::test_nobody_had_it"])
    findings = result.findings
    twice = SAMPLE_LINES[3]["nodeid"]
    assert findings.duplicates == {
        twice: [
            {"shard": "shard-1 (shard-1)", "verdict": "pass"},
            {"shard": "shard-2 (shard-2)", "verdict": "pass"},
        ]
    }
    assert findings.missing == {
        NEVER: "given to shard-1 (shard-1), which never finished it (exited 1)",
        "drills/test_x.py::test_nobody_had_it": "in the selection, but no shard given was assigned it",
    }
    assert findings.missing_shards == ["group 3 of 3"]
    assert findings.not_drills == ["drills/test_x.py::test_no_drill"] and not findings.clean
    assert [d.nodeid for d in result.report.drills].count(twice) == 1 and len(result.report.drills) == 6

    busy = next(d for d in result.report.drills if d.nodeid.startswith("drills/test_locks.py"))
    assert busy.evidence_files["trace"].startswith("shards/shard-1/evidence/")
    assert (out / busy.evidence_files["trace"]).is_file()
    page = (out / "index.html").read_text()
    assert "run twice: " in page and "missing: drills/test_x.py::test_never_finished" in page
    assert "shard not given: group 3 of 3" in page


def test_find_problems_without_records_counts_only_duplicates(tmp_path: Path) -> None:
    folders = hand_made_shards(tmp_path)
    for folder in folders:
        (folder / "shard.json").unlink()
    shards = load_shards(folders)
    lines = {shard.name: [{"nodeid": "a", "verdict": "pass"}] for shard in shards}
    findings = find_problems(shards, lines)
    assert list(findings.duplicates) == ["a"] and not findings.missing and not findings.missing_shards


def test_shards_that_disagree_or_cannot_be_read_are_a_usage_error_and_change_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folders = hand_made_shards(tmp_path, seeds=(7, 8))
    before = [fingerprint_tree(folder).digest for folder in folders]
    reports = tmp_path / "reports"
    code, _, err = run_harness(capsys, "report", "merge", *map(str, folders), "--report-dir", str(reports))
    assert code == 2 and "shards disagree on seed" in err
    assert "shard-1 (shard-1): 7" in err and "shard-2 (shard-2): 8" in err
    assert [fingerprint_tree(folder).digest for folder in folders] == before
    assert not reports.exists()
    with pytest.raises(UsageError, match="at least one shard"):
        load_shards([])

    (folders[1] / "shard.json").write_text("{truncated")
    before = [fingerprint_tree(folder).digest for folder in folders]
    code, _, err = run_harness(capsys, "report", "merge", *map(str, folders), "--report-dir", str(reports))
    assert code == 2 and f"{folders[1] / 'shard.json'} is not a shard record" in err
    assert [fingerprint_tree(folder).digest for folder in folders] == before and not reports.exists()


def test_merge_command_names_what_it_found_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folders = hand_made_shards(tmp_path)
    out = tmp_path / "reports" / "merged"
    code, out_text, err = run_harness(capsys, "report", "merge", *map(str, folders), "--out", str(out))
    assert code == 1, err
    assert "shard-1: run shard-1 on runner-1 group 1/3" in out_text
    assert (
        f"RUN TWICE {SAMPLE_LINES[3]['nodeid']}: shard-1 (shard-1) pass, shard-2 (shard-2) pass" in out_text
    )
    assert (
        "MISSING drills/test_x.py::test_never_finished" in out_text
        and "MISSING SHARD group 3 of 3" in out_text
    )
    assert (out.parent / "latest").resolve() == out.resolve()
    assert load_report(out.parent / "latest").seed == 7

    code, _, err = run_harness(capsys, "report", "merge", *map(str, folders), "--out", str(out))
    assert code == 2 and "is not empty" in err


def test_durations_refresh_keeps_drills_the_runs_did_not_time(
    sample_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_run_files(sample_run, SETTINGS)
    target = tmp_path / "fixtures" / "drill-durations.json"
    target.parent.mkdir()
    target.write_text(json.dumps({"drills/test_gone.py::test_old": 3.0, SAMPLE_LINES[0]["nodeid"]: 99.0}))
    code, out, err = run_harness(capsys, "report", "durations", str(sample_run), "--out", str(target))
    assert code == 0, err
    assert f"{target}: 6 drills timed, 1 kept from before" in out
    durations = json.loads(target.read_text())
    assert durations["drills/test_gone.py::test_old"] == 3.0 and durations[SAMPLE_LINES[0]["nodeid"]] == 5.5
    assert len(durations) == 7 and list(durations) == sorted(durations)

    target.write_text("[1, 2]")
    code, _, err = run_harness(capsys, "report", "durations", str(sample_run), "--out", str(target))
    assert code == 2 and "is not a durations file" in err and target.read_text() == "[1, 2]"


def test_quick_lists_the_drills_timed_under_the_bound(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The peer lane's selection: every drill under the bound, in node id order; none at or over it."""
    target = tmp_path / "durations.json"
    target.write_text(json.dumps({"d::b": 9.99, "d::a": 0.5, "d::c": 10.0, "d::d": 40.0}))
    code, out, err = run_harness(capsys, "report", "quick", str(target), "--under", "10")
    assert code == 0, err
    assert out.splitlines() == ["d::a", "d::b"]
    code, _, err = run_harness(capsys, "report", "quick", str(tmp_path / "none.json"), "--under", "10")
    assert code == 2 and "no durations file" in err


@pytest.mark.parametrize(
    ("key", "other"), [("scale", "medium"), ("engine_profile", "upstream"), ("engine_cmd", "/opt/usr")]
)
def test_shards_must_share_engine_and_scale(tmp_path: Path, key: str, other: str) -> None:
    folders = hand_made_shards(tmp_path)
    data = json.loads((folders[1] / "report.json").read_text())
    (folders[1] / "report.json").write_text(json.dumps({**data, key: other}))
    with pytest.raises(UsageError, match=f"shards disagree on {key}; .*shard-2 \\(shard-2\\): '{other}'"):
        load_shards(folders)


CONTAINER = ["--drill-remote-provider=container", "--drill-container-suite=bookworm"]


def test_shards_on_other_remotes_are_refused_and_nothing_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A shard on a bookworm container and one on the loopback host judged different remotes."""
    folders = hand_made_shards(tmp_path)
    data = json.loads((folders[1] / "report.json").read_text())
    (folders[1] / "report.json").write_text(json.dumps({**data, "remote_options": CONTAINER}))
    before = [fingerprint_tree(folder).digest for folder in folders]
    reports = tmp_path / "reports"
    code, _, err = run_harness(capsys, "report", "merge", *map(str, folders), "--report-dir", str(reports))
    assert code == 2 and "shards disagree on remote_options" in err
    assert "shard-1 (shard-1): []" in err and f"shard-2 (shard-2): {CONTAINER!r}" in err
    assert [fingerprint_tree(folder).digest for folder in folders] == before and not reports.exists()


def test_a_shard_known_by_its_record_alone_agrees_on_its_remote(tmp_path: Path) -> None:
    """A shard that died before its report is judged by `shard.json`; one from before the field ran on
    the loopback host, like a report without it."""
    folders = hand_made_shards(tmp_path)
    (folders[1] / "report.json").unlink()
    record = json.loads((folders[1] / "shard.json").read_text())
    record |= {"seed": 7, "scale": "small", "engine_profile": None, "engine_cmd": None}
    (folders[1] / "shard.json").write_text(json.dumps(record))
    assert [shard.settings["remote_options"] for shard in load_shards(folders)] == [[], []]
    (folders[1] / "shard.json").write_text(json.dumps({**record, "remote_options": CONTAINER}))
    with pytest.raises(UsageError, match="shards disagree on remote_options"):
        load_shards(folders)
