"""report.json: built from a run folder, valid against the published schema, audits moved to files."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
from importlib import resources
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import jsonschema
import pytest

from tests.report.conftest import AUDIT, HOSTILE, SETTINGS, STEPS, drill_line, make_run
from usr_harness.errors import UsageError
from usr_harness.report.build import PACKAGE_PARENT, build_report, git_commit, write_run_files
from usr_harness.report.evidence import drill_slug
from usr_harness.report.model import SCHEMA_VERSION, Report, load_report


@pytest.fixture(scope="module")
def schema() -> dict:
    return json.loads(resources.files("usr_harness.report").joinpath("schema.json").read_text())


def schema_errors(value: Any, schema: dict) -> list[str]:
    """Every violation jsonschema finds, by where it is (the schema itself checked first)."""
    validator = jsonschema.Draft202012Validator
    validator.check_schema(schema)
    return sorted(f"{error.json_path}: {error.message}" for error in validator(schema).iter_errors(value))


def test_report_is_valid_against_the_published_schema(sample_run: Path, schema: dict) -> None:
    data = write_run_files(sample_run, SETTINGS, steps=STEPS).as_dict()
    assert json.loads((sample_run / "report.json").read_text()) == data
    assert schema["properties"]["schema_version"]["const"] == SCHEMA_VERSION == data["schema_version"]
    assert schema_errors(data, schema) == []
    assert data["summary"] == {"total": 6, "pass": 2, "fail": 2, "unsupported": 1, "unknown": 1}
    assert data["failures"] == {"runbook": 0, "hardening": 2} and data["drove_engine"] == 6
    assert data["message"] == (
        "6 drills: 2 pass, 2 fail, 1 unsupported, 1 unknown; 0 runbook violations, 2 hardening gaps; "
        "6 drove an engine command"
    )
    reproduce = {drill["nodeid"]: drill["reproduce"] for drill in data["drills"]}
    assert reproduce[HOSTILE] == (
        "cd /nonexistent/rootdir && pytest "
        "'drills/test_security.py::test_hostile_ids[<script>alert(1)</script>]'"
        " --drill-seed=7 --drill-scale=small -p no:xdist"
    )
    assert data["seed"] == 7 and data["engine"] == "bundled" and data["engine_cmd"] is None
    assert {"python", "pyarrow", "paramiko", "openssh"} <= data["versions"].keys()
    broken = dict(data, drills=[{**data["drills"][0], "verdict": "passed"}], surprise=1)
    assert len(schema_errors(broken, schema)) == 2
    assert list(data)[:3] == ["outcome", "headline", "blind_spots"] and data["outcome"] == "failed"
    assert data["headline"] == "failed: 6 drills: 2 pass, 2 fail, 1 unsupported, 1 unknown"
    assert schema_errors(dict(data, outcome="green"), schema) != []


@pytest.mark.parametrize(
    ("verdicts", "status", "outcome"),
    [
        (("pass", "unsupported"), "passed", "passed"),
        (("pass", "unknown"), "passed", "errored"),
        (("pass",), "failed", "errored"),
        (("fail", "unknown"), "failed", "failed"),
    ],
)
def test_the_run_outcome_is_failed_errored_or_passed(
    tmp_path: Path, verdicts: tuple[str, ...], status: str, outcome: str
) -> None:
    """Unsupported drills never fail a run; an unjudged drill or a broken step errors it."""
    lines = [drill_line(f"drills/test_x.py::test_{i}", verdict) for i, verdict in enumerate(verdicts)]
    report = write_run_files(make_run(tmp_path / "run", lines), SETTINGS, steps={**STEPS, "status": status})
    assert report.outcome == outcome and report.headline.startswith(f"{outcome}: {len(lines)} drills: ")


def test_junit_carries_the_verdict_line_first_in_every_suite(tmp_path: Path) -> None:
    run = make_run(
        tmp_path / "run", [drill_line("drills/test_x.py::test_a", "pass", blind_spots=["diff/size"])]
    )
    (run / "junit.xml").write_text(
        '<testsuites><testsuite name="pytest" tests="1"><properties><property name="usr-harness.outcome" '
        'value="stale"/><property name="kept" value="1"/></properties><testcase name="test_a"/></testsuite>'
        "</testsuites>"
    )
    write_run_files(run, SETTINGS)
    suite = ElementTree.parse(run / "junit.xml").getroot().find("testsuite")
    assert suite[0].tag == "properties" and suite[1].tag == "testcase"
    assert [(p.get("name"), p.get("value")) for p in suite[0]] == [
        ("usr-harness.outcome", "passed"),
        (
            "usr-harness.headline",
            "passed: 1 drills: 1 pass, 0 fail, 0 unsupported, 0 unknown (1 expected blind spot)",
        ),
        ("usr-harness.blind_spots", "1"),
        ("kept", "1"),
    ]


def test_audits_and_large_values_move_to_evidence_files_once(sample_run: Path) -> None:
    report = build_report(sample_run, SETTINGS)
    chained, busy = report.drills[0], report.drills[1]
    slug = drill_slug(chained.nodeid)
    assert chained.evidence == {"pull-0": {"exit_code": 0}}
    assert chained.evidence_files == {"pull-0.audit": f"evidence/{slug}/pull-0.audit.json"}
    assert json.loads((sample_run / chained.evidence_files["pull-0.audit"]).read_text()) == AUDIT
    assert busy.evidence == {} and list(busy.evidence_files) == ["trace"]
    corruption = report.drills[3]
    assert corruption.evidence["observed"] == {"diff/strict": "changed", "pull/strict": "sidecars"}  # inline
    lines = (sample_run / "drills.jsonl").read_text()
    assert '.audit": {' not in lines and "xxxxxxxx" not in lines
    again = build_report(sample_run, SETTINGS)
    assert again.drills == report.drills and (sample_run / "drills.jsonl").read_text() == lines
    assert re.fullmatch(
        r"test_security\.py-test_hostile_ids-script-alert-1-script-[0-9a-f]{8}", drill_slug(HOSTILE)
    )


def test_report_round_trips_and_lists_run_files(sample_run: Path) -> None:
    report = write_run_files(sample_run, SETTINGS, steps=STEPS, replay_of="earlier-run")
    assert load_report(sample_run) == report == load_report(sample_run / "report.json")
    assert Report.from_dict(json.loads(json.dumps(report.as_dict()))) == report
    assert report.run_files == ("cycle-report.json", "drills.jsonl", "evidence/sshd.log", "junit.xml")
    assert report.run_id == sample_run.name and report.rootdir == "/nonexistent/rootdir"


CONTAINER = ("--drill-remote-provider=container", "--drill-container-suite=bookworm")


def test_the_remote_a_run_chose_round_trips_and_old_reports_ran_on_loopback(
    sample_run: Path, schema: dict
) -> None:
    report = write_run_files(sample_run, dataclasses.replace(SETTINGS, remote_options=CONTAINER))
    data = json.loads((sample_run / "report.json").read_text())
    assert data["remote_options"] == list(CONTAINER) and schema_errors(data, schema) == []
    assert load_report(sample_run) == report and report.remote_options == CONTAINER
    assert (
        "remote <code>--drill-remote-provider=container --drill-container-suite=bookworm</code>"
        in (sample_run / "index.html").read_text()
    )

    del data["remote_options"]  # a version 4 report, written before the field
    (sample_run / "report.json").write_text(json.dumps({**data, "schema_version": 4}))
    assert load_report(sample_run).remote_options == ()
    assert schema_errors({**data, "schema_version": SCHEMA_VERSION}, schema) != []


@pytest.mark.parametrize("value", [["-p", "evil_plugin"], "--drill-remote-provider=container", [3]])
def test_a_report_may_only_choose_the_remote_never_add_pytest_options(
    sample_run: Path, value: object
) -> None:
    """Replay passes remote_options to pytest as they are: anything else is refused on load."""
    data = write_run_files(sample_run, SETTINGS).as_dict()
    (sample_run / "report.json").write_text(json.dumps({**data, "remote_options": value}))
    with pytest.raises(UsageError, match="remote_options"):
        load_report(sample_run)


def test_git_commit_when_the_package_is_a_work_tree(tmp_path: Path) -> None:
    head = subprocess.run(
        ["git", "-C", str(PACKAGE_PARENT), "rev-parse", "HEAD"], capture_output=True, text=True
    )
    assert git_commit() == (head.stdout.strip() if head.returncode == 0 else None)
    assert git_commit(tmp_path) is None
    nested = tmp_path / "repo/site-packages"
    nested.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(tmp_path / "repo")], check=True)
    assert git_commit(nested) is None  # an enclosing repository is not the package's


def test_a_run_without_drills_and_repeated_lines(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert build_report(empty, SETTINGS).drills == ()
    nodeid = "drills/test_a.py::test_a"
    rerun = make_run(tmp_path / "rerun", [drill_line(nodeid, "fail"), drill_line(nodeid, "pass")])
    assert [(d.nodeid, d.verdict) for d in build_report(rerun, SETTINGS).drills] == [(nodeid, "pass")]


def test_unreadable_reports_are_usage_errors(sample_run: Path) -> None:
    with pytest.raises(UsageError, match="no report at"):
        load_report(sample_run)
    data = write_run_files(sample_run, SETTINGS).as_dict()
    (sample_run / "report.json").write_text(json.dumps({**data, "schema_version": 99}))
    with pytest.raises(UsageError, match="schema_version 99"):
        load_report(sample_run)
