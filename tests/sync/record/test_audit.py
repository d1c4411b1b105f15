"""The audit JSON and its plain block, built from hand-made manifests and diffs (pure)."""

from __future__ import annotations

import json

from usr_harness.errors import VerifyError
from usr_harness.sync.inventory.manifest import EventsInfo, FileEntry, Manifest
from usr_harness.sync.options import SyncOptions
from usr_harness.sync.plan.diff import DiffResult, SectionDiff, diff_manifests
from usr_harness.sync.record.audit import (
    AuditRecord,
    build_audit,
    build_file_audit,
    post_report,
    render_plain,
    section_report,
)

HEAD = ["action", "transfer_state", "dataset", "remote", "verify", "up_to_date"]
SECTIONS = ["primary", "meta", ".events.log", "_snapshots", "_derived", "_auxiliary", "warnings"]


def entry(path: str, section: str, size: int, sha: str) -> FileEntry:
    return FileEntry(path=path, section=section, kind="file", size=size, sha256=sha)


def manifest(side: str, *, log_lines: int, snapshots: list[str], derived: list[str]) -> Manifest:
    files = [
        entry("records.parquet", "primary", 100, "aa"),
        entry("meta.md", "meta", 10, "bb"),
        entry(".events.log", "events", 20 * log_lines, f"log{log_lines}"),
        *(entry(f"_snapshots/records-{stamp}.parquet", "snapshots", 90, stamp) for stamp in snapshots),
        *(entry(path, "derived", 5, "cc") for path in derived),
    ]
    events = EventsInfo(size=20 * log_lines, sha256=f"log{log_lines}", lines=log_lines)
    stats = {"rows": 12, "columns": 3}
    return Manifest(side, True, {f.path: f for f in files}, events, stats)


LOCAL = manifest("local", log_lines=2, snapshots=["20260101T000000000000"], derived=["_derived/a.parquet"])
REMOTE = manifest(
    "remote",
    log_lines=3,
    snapshots=["20260101T000000000000", "20260102T000000000000"],
    derived=["_derived/a.parquet", "_derived/b.parquet"],
)


def audit(record: AuditRecord | None = None, *, state: str = "DIFF-ONLY") -> dict:
    return build_audit(
        action="pull",
        transfer_state=state,
        dataset="demo",
        remote="hpc",
        opts=SyncOptions(),
        local=LOCAL,
        remote_manifest=REMOTE,
        diff=diff_manifests(LOCAL, REMOTE, SyncOptions()),
        record=record,
    )


def bare_audit(action: str, record: AuditRecord | None = None, opts: SyncOptions | None = None) -> dict:
    """The audit of a command that failed before either manifest was taken."""
    return build_audit(
        action=action,
        transfer_state="FAILED",
        dataset="demo",
        remote="hpc",
        opts=opts or SyncOptions(),
        local=None,
        remote_manifest=None,
        diff=None,
        record=record,
    )


def test_an_audit_without_manifests_has_only_the_request_and_an_unknown_state():
    built = bare_audit(
        "push",
        AuditRecord(error={"family": "lock", "message": "held", "paths": []}),
        SyncOptions(verify="size"),
    )
    assert built["usr_output_version"] == 1
    assert list(built["data"]) == [*HEAD, "error"]
    assert built["data"]["up_to_date"] is None
    assert built["data"]["verify"] == {"primary": "size", "sidecars": "strict", "content_hashes": "on"}


def test_the_record_follows_the_sections_in_a_fixed_order_and_none_is_absent():
    record = AuditRecord()
    record.error = VerifyError("demo: post-pull verification found differences after transfer").as_dict()
    record.post = {"up_to_date": False, "changed": {"primary": True}}
    record.transfer = {"files": 3, "bytes": 300, "deleted": 0}
    record.kept = {"side": "local", "paths": ["notes.txt"]}
    record.plan = {"copy": ["records.parquet"], "delete": [], "forced": []}
    data = audit(record, state="FAILED")["data"]
    assert list(data) == [*HEAD, *SECTIONS, "plan", "kept", "transfer", "post", "error"]
    assert "forced" not in data
    assert list(audit(AuditRecord(kept={"side": "remote", "paths": []}))["data"])[-2:] == ["warnings", "kept"]
    assert list(audit()["data"]) == [*HEAD, *SECTIONS]


def test_the_audit_json_of_a_failed_command_is_exactly_the_request_and_the_error():
    built = bare_audit("pull", AuditRecord(error={"family": "transport", "message": "no route", "paths": []}))
    assert json.dumps(built) == (
        '{"usr_output_version": 1, "data": {"action": "pull", "transfer_state": "FAILED", '
        '"dataset": "demo", "remote": "hpc", "verify": {"primary": "hash", "sidecars": "strict", '
        '"content_hashes": "on"}, "up_to_date": null, '
        '"error": {"family": "transport", "message": "no route", "paths": []}}}'
    )


def test_the_section_report_states_each_side_before_any_transfer():
    report = section_report(LOCAL, REMOTE, diff_manifests(LOCAL, REMOTE, SyncOptions()))
    assert report["primary"] == {
        "changed": False,
        "local": {"size": 100, "sha256": "aa", "rows": 12, "columns": 3},
        "remote": {"size": 100, "sha256": "aa", "rows": 12, "columns": 3},
    }
    assert report["meta"] == {"changed": False}
    assert report[".events.log"]["changed"] is True
    assert report[".events.log"]["remote"] == {"size": 60, "sha256": "log3", "lines": 3}
    assert report["_snapshots"] == {
        "changed": True,
        "local_count": 1,
        "remote_count": 2,
        "local_bytes": 90,
        "remote_bytes": 180,
        "newer_than_local": 1,
    }
    assert report["_derived"] == {
        "changed": True,
        "local_files": 1,
        "remote_files": 2,
        "local_bytes": 5,
        "remote_bytes": 10,
        "local_only": [],
        "remote_only": ["_derived/b.parquet"],
        "content_changed": [],
    }
    assert report["_auxiliary"]["changed"] is False


def test_a_missing_side_reports_none():
    bare = Manifest("local", False)
    report = section_report(bare, REMOTE, diff_manifests(bare, REMOTE, SyncOptions()))
    assert report["primary"]["local"] is None
    assert report[".events.log"]["local"] is None


def test_the_post_report_is_clean_only_when_every_section_is():
    clean = DiffResult({"primary": SectionDiff("primary"), "meta": SectionDiff("meta")}, False, "hash")
    assert post_report(clean) == {
        "up_to_date": True,
        "changed": {"primary": False, "meta": False, "events": False},
    }
    dirty = DiffResult({"meta": SectionDiff("meta", content=["meta.md"])}, True, "hash")
    assert post_report(dirty) == {"up_to_date": False, "changed": {"meta": True, "events": True}}


def test_the_plain_block_names_what_moved_what_was_kept_and_the_error():
    record = AuditRecord(
        kept={"side": "local", "paths": ["notes.txt"]},
        transfer={"files": 3, "bytes": 300, "deleted": 1},
        post={"up_to_date": False, "changed": {"primary": True}},
        error={"family": "verify", "message": "demo: post-pull verification failed", "paths": []},
    )
    lines = render_plain(audit(record, state="FAILED")).splitlines()
    assert lines[0] == "USR sync audit: pull demo <-> hpc"
    assert "  Transfer state : FAILED" in lines
    assert "  Verify         : primary=hash sidecars=strict content_hashes=on" in lines
    assert "  Primary        : up-to-date" in lines
    assert "  .events.log    : CHANGED (local 2 lines, remote 3 lines)" in lines
    assert "  _snapshots     : CHANGED (local 1, remote 2, newer remote 1)" in lines
    assert "  _derived       : CHANGED (local 1, remote 2, local-only 0, remote-only 1, content 0)" in lines
    assert "  Moved          : 3 file(s), 300 byte(s), deleted 1" in lines
    assert "  Kept           : 1 local addition(s): notes.txt" in lines
    assert "  Post-verify    : MISMATCH" in lines
    assert lines[-1] == "  Post-verify    : MISMATCH"
    assert not [line for line in lines if "ERROR" in line or "post-pull verification failed" in line]


def test_the_plain_block_of_a_bare_audit_has_no_section_lines():
    built = bare_audit("diff")
    assert render_plain(built).splitlines() == [
        "USR sync audit: diff demo <-> hpc",
        "  Transfer state : FAILED",
        "  Verify         : primary=hash sidecars=strict content_hashes=on",
    ]


def test_the_plain_block_of_a_file_mode_audit_names_the_target_and_what_was_forced():
    data = {
        "action": "push",
        "transfer_state": "TRANSFERRED",
        "mode": "file",
        "target": "/work/notes.parquet",
        "remote": "hpc",
        "remote_path": None,
        "verify": {"primary": "hash"},
        "up_to_date": False,
        **AuditRecord(forced=["/data/notes.parquet"]).blocks(),
    }
    lines = render_plain({"usr_output_version": 1, "data": data}).splitlines()
    assert lines[:2] == [
        "USR sync audit: push /work/notes.parquet <-> hpc",
        "  Remote path    : not resolved (see the error)",
    ]
    assert "  Verify         : primary=hash" in lines
    assert lines[-1] == "  FORCED         : /data/notes.parquet"


def file_audit(record: AuditRecord, *, stated: bool = True) -> dict:
    local = Manifest("local", True, {"records.parquet": entry("records.parquet", "primary", 3, "aa")})
    remote = Manifest("remote", False)
    return build_file_audit(
        action="push",
        transfer_state="TRANSFERRED" if stated else "FAILED",
        target="/laptop/f.csv",
        remote="hpc",
        remote_path="/hpc/f.csv" if stated else None,
        verify="auto",
        local=local if stated else None,
        remote_manifest=remote if stated else None,
        diff=diff_manifests(local, remote, SyncOptions(verify="auto")) if stated else None,
        warnings=["WARNING: x"] if stated else [],
        record=record,
    )


def test_the_file_audit_keeps_its_own_head_primary_block_and_block_order():
    record = AuditRecord(forced=["/hpc/f.csv"], transfer={"files": 1, "bytes": 3, "deleted": 0})
    record.post = {"up_to_date": True, "changed": {"primary": False}}
    data = file_audit(record)["data"]
    head = ["action", "transfer_state", "mode", "target", "remote", "remote_path", "verify", "up_to_date"]
    assert list(data) == [*head, "primary", "warnings", "forced", "post", "transfer"]
    assert data["verify"] == {"primary": "auto", "primary_effective": "hash"} and data["up_to_date"] is False
    assert data["primary"] == {"changed": True, "local": {"size": 3, "sha256": "aa"}, "remote": None}
    assert data["warnings"] == ["WARNING: x"] and data["mode"] == "file"


def test_a_file_audit_before_any_stat_has_warnings_but_no_primary():
    data = file_audit(AuditRecord(error={"family": "usage", "message": "m", "paths": []}), stated=False)[
        "data"
    ]
    assert (
        data["remote_path"] is None and data["up_to_date"] is None and data["verify"] == {"primary": "auto"}
    )
    assert list(data)[-2:] == ["warnings", "error"] and "primary" not in data
