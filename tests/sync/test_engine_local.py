"""diff / pull / push end to end with no sshd: the real agent behind a `client: local` profile.

The remote is a second folder on this machine (`disk_sides`), so the whole engine (inventories,
plan, staged transfer, promotion, post-verify, audit) runs in the `not ssh` tier.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.usr_sides import DATASET, Sides, records_table
from usr_harness.dataset import Dataset
from usr_harness.dataset.parquet_io import write_parquet
from usr_harness.errors import (
    ConfigError,
    DatasetError,
    DivergedError,
    EventsError,
    StagingError,
    VerifyError,
)
from usr_harness.mock.series import BatchSeries
from usr_harness.report.fingerprint import ABSENT, fingerprint_tree
from usr_harness.sync import engine, hooks
from usr_harness.sync.modes import file_mode
from usr_harness.sync.options import SyncOptions
from usr_harness.sync.record.audit import human_bytes

from .conftest import DISK_REMOTE

SERIES = BatchSeries(11, records_per_round=40)
OTHER_JOB = BatchSeries(29, records_per_round=25)


def sync(sides: Sides, action: str, **options: object) -> dict:
    """One `engine.run` against profile `disk2`; the audit it returns equals the one it wrote."""
    sides.runs += 1
    audit_path = sides.audit_dir / f"audit-{sides.runs}.json"
    request = engine.SyncRequest(
        root=sides.local_root,
        dataset=DATASET,
        remote=DISK_REMOTE,
        remotes_config=sides.remotes_config,
        opts=SyncOptions(yes=True, **options),
        audit_json_out=audit_path,
        echo=lambda _line: None,
    )
    audit = engine.run(action, request)
    assert json.loads(audit_path.read_text()) == audit
    return audit["data"]


def digests(sides: Sides) -> tuple[str, str]:
    local, remote = sides.fingerprints()
    return local.digest, remote.digest


def synced(sides: Sides) -> None:
    """Two HPC rounds on the remote, pulled: both sides equal, with a base to diverge from."""
    SERIES.run(sides.remote_root, DATASET, 2)
    sync(sides, "pull")


def no_stages(root: Path) -> bool:
    return not [name for name in os.listdir(root) if ".usr-stage-" in name or ".usr-promote-" in name]


def test_diff_then_bootstrap_pull_then_noop(disk_sides: Sides) -> None:
    SERIES.run(disk_sides.remote_root, DATASET, 3)
    remote_before = fingerprint_tree(disk_sides.remote).digest
    diff = sync(disk_sides, "diff")
    assert diff["transfer_state"] == "DIFF-ONLY" and diff["up_to_date"] is False
    assert diff["primary"]["changed"] is True and diff["primary"]["local"] is None
    assert len(diff["_derived"]["remote_only"]) == 3 and diff["_snapshots"]["newer_than_local"] == 1
    assert digests(disk_sides) == (ABSENT, remote_before)

    pulled = sync(disk_sides, "pull")
    assert pulled["transfer_state"] == "TRANSFERRED" and pulled["post"]["up_to_date"] is True
    assert set(diff["_derived"]["remote_only"]) <= set(pulled["plan"]["copy"])
    assert digests(disk_sides) == (remote_before, remote_before)
    Dataset.open(disk_sides.local_root, DATASET).validate(strict=False)

    again = sync(disk_sides, "pull")
    assert again["transfer_state"] == "NO-OP" and "transfer" not in again
    assert again["plan"] == {"copy": [], "delete": [], "forced": [], "copy_bytes": 0, "delete_bytes": 0}
    assert digests(disk_sides) == (remote_before, remote_before)
    assert sync(disk_sides, "diff")["up_to_date"] is True
    assert no_stages(disk_sides.local_root) and no_stages(disk_sides.remote_root)


def test_push_of_a_new_local_round_then_noop(disk_sides: Sides) -> None:
    SERIES.run(disk_sides.remote_root, DATASET, 2)
    sync(disk_sides, "pull")
    new_part = SERIES.apply_round(disk_sides.local_root, DATASET, 2).part
    relpath = new_part.relative_to(disk_sides.local).as_posix()
    local_before = fingerprint_tree(disk_sides.local).digest

    pushed = sync(disk_sides, "push")
    assert pushed["transfer_state"] == "TRANSFERRED" and pushed["post"]["up_to_date"] is True
    assert pushed["_derived"]["local_only"] == [relpath] and relpath in pushed["plan"]["copy"]
    assert pushed["primary"]["changed"] is True and pushed["transfer"]["files"] >= 3
    assert digests(disk_sides) == (local_before, local_before)

    again = sync(disk_sides, "push")
    assert again["transfer_state"] == "NO-OP" and "transfer" not in again
    assert digests(disk_sides) == (local_before, local_before)
    assert no_stages(disk_sides.remote_root)


@pytest.mark.parametrize("action", ["pull", "push"])
def test_both_sides_changed_since_the_last_sync_is_refused_and_changes_nothing(
    disk_sides: Sides, action: str
) -> None:
    synced(disk_sides)
    SERIES.apply_round(disk_sides.remote_root, DATASET, 2)
    OTHER_JOB.apply_round(disk_sides.local_root, DATASET, 0)
    before = digests(disk_sides)
    with pytest.raises(DivergedError):
        sync(disk_sides, action)
    audit = json.loads((disk_sides.audit_dir / f"audit-{disk_sides.runs}.json").read_text())["data"]
    assert audit["transfer_state"] == "FAILED" and audit["error"]["family"] == "diverged"
    assert digests(disk_sides) == before
    assert no_stages(disk_sides.local_root) and no_stages(disk_sides.remote_root)


def test_the_usr_command_line_in_process(disk_sides: Sides) -> None:
    SERIES.run(disk_sides.local_root, DATASET, 2)
    pushed = disk_sides.usr("push", DATASET, DISK_REMOTE, "-y")
    assert pushed.code == 0, pushed.err + pushed.out
    assert "USR sync audit" in pushed.out and pushed.audit["data"]["transfer_state"] == "TRANSFERRED"
    disk_sides.assert_equal_trees()
    diff = disk_sides.usr("diff", DATASET, DISK_REMOTE)
    assert diff.code == 0 and diff.audit["data"]["up_to_date"] is True
    SERIES.apply_round(disk_sides.remote_root, DATASET, 2)
    OTHER_JOB.apply_round(disk_sides.local_root, DATASET, 0)
    before = digests(disk_sides)
    refused = disk_sides.usr("pull", DATASET, DISK_REMOTE, "-y")
    assert refused.code == DivergedError.exit_code, refused.err + refused.out
    assert "error[diverged]" in refused.err and refused.audit["data"]["transfer_state"] == "FAILED"
    message = refused.audit["data"]["error"]["message"]
    assert (refused.out + refused.err).count(message) == 1 and "ERROR" not in refused.out
    assert digests(disk_sides) == before


def file_pair(sides: Sides, tmp_path: Path) -> tuple[Path, Path]:
    """One file's place on each side (local, remote), in folders that exist and hold nothing yet."""
    local = tmp_path / "laptop-repo" / "outputs" / "records.parquet"
    remote = sides.remote_root / "repo" / "outputs" / "records.parquet"
    local.parent.mkdir(parents=True)
    remote.parent.mkdir(parents=True)
    return local, remote


def file_request(sides: Sides, local: Path, remote: Path, **given: object) -> file_mode.FileRequest:
    """A confirmed file-mode request between `local` and `remote` over profile `disk2`."""
    settings: dict = {"opts": SyncOptions(yes=True), "echo": lambda _line: None, **given}
    return file_mode.FileRequest(
        local=local,
        remote=DISK_REMOTE,
        remotes_config=sides.remotes_config,
        remote_path=str(remote),
        **settings,
    )


def test_file_mode_push_noop_and_pull_of_one_parquet_file(disk_sides: Sides, tmp_path: Path) -> None:
    local, remote = file_pair(disk_sides, tmp_path)
    write_parquet(records_table(0, 30), local)

    def run(action: str) -> dict:
        return file_mode.run(action, file_request(disk_sides, local, remote))["data"]

    def sha(path: Path) -> str:
        return hashlib.sha256(path.read_bytes()).hexdigest()

    pushed = run("push")
    assert pushed["mode"] == "file" and pushed["transfer_state"] == "TRANSFERRED"
    assert pushed["post"]["up_to_date"] is True and sha(remote) == sha(local)
    inode = remote.stat().st_ino
    assert run("push")["transfer_state"] == "NO-OP" and remote.stat().st_ino == inode
    write_parquet(records_table(0, 45), remote)
    pulled = run("pull")
    assert pulled["transfer_state"] == "TRANSFERRED" and sha(local) == sha(remote)
    assert run("diff")["up_to_date"] is True


@pytest.mark.parametrize("action", ["pull", "push"])
def test_a_hook_that_cannot_load_refuses_the_transfer_before_either_side_changes(
    disk_sides: Sides, monkeypatch: pytest.MonkeyPatch, action: str
) -> None:
    synced(disk_sides)
    if action == "pull":
        SERIES.apply_round(disk_sides.remote_root, DATASET, 2)
    else:
        OTHER_JOB.apply_round(disk_sides.local_root, DATASET, 0)
    before = digests(disk_sides)
    monkeypatch.setenv(hooks.HOOKS_ENV, "usr_no_such_hook_module:hook")
    with pytest.raises(ConfigError, match="usr_no_such_hook_module"):
        sync(disk_sides, action)
    assert digests(disk_sides) == before
    assert no_stages(disk_sides.local_root) and no_stages(disk_sides.remote_root)


def folder_state(folder: Path) -> dict[str, str]:
    """Each file beside the target by sha256, leaving out the `.<name>.usr.lock` siblings file mode keeps."""
    return {
        entry.name: hashlib.sha256(entry.read_bytes()).hexdigest()
        for entry in sorted(folder.iterdir())
        if not entry.name.endswith(".usr.lock")
    }


@dataclass
class UnwritableAudit:
    """A file pull between empty folders whose audit JSON must go under a regular file (never writable)."""

    local: Path
    remote: Path
    request: file_mode.FileRequest
    said: list[str]


@pytest.fixture
def unwritable_audit(disk_sides: Sides, tmp_path: Path) -> UnwritableAudit:
    local, remote = file_pair(disk_sides, tmp_path)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the audit's folder should be\n")
    said: list[str] = []
    request = file_request(disk_sides, local, remote, audit_json_out=blocker / "audit.json", echo=said.append)
    return UnwritableAudit(local, remote, request, said)


def test_a_file_audit_json_that_cannot_be_written_is_staging_after_a_whole_pull(
    unwritable_audit: UnwritableAudit,
) -> None:
    local, remote, said = unwritable_audit.local, unwritable_audit.remote, unwritable_audit.said
    write_parquet(records_table(0, 45), remote)
    remote_before = folder_state(remote.parent)
    with pytest.raises(
        StagingError, match=r"cannot write the audit JSON .* the pull itself ended TRANSFERRED"
    ):
        file_mode.run("pull", unwritable_audit.request)
    assert any("Transfer state : TRANSFERRED" in line for line in said), said
    assert local.read_bytes() == remote.read_bytes()
    assert folder_state(remote.parent) == remote_before
    assert list(folder_state(local.parent)) == ["records.parquet"]


def test_a_failed_file_pull_whose_audit_cannot_be_written_keeps_its_own_error(
    unwritable_audit: UnwritableAudit,
) -> None:
    local, remote, said = unwritable_audit.local, unwritable_audit.remote, unwritable_audit.said
    write_parquet(records_table(0, 30), local)
    local_before = folder_state(local.parent)
    remote_before = folder_state(remote.parent)
    with pytest.raises(VerifyError, match="is missing"):
        file_mode.run("pull", unwritable_audit.request)
    assert any(line.startswith("WARNING:") and "cannot write the audit JSON" in line for line in said), said
    assert folder_state(local.parent) == local_before
    assert folder_state(remote.parent) == remote_before


def roots(sides: Sides) -> tuple[str, str]:
    """Both whole roots: a refusal must not even leave a folder or a cache for the id it refused."""
    return fingerprint_tree(sides.local_root).digest, fingerprint_tree(sides.remote_root).digest


@pytest.mark.parametrize(
    "args", [("diff",), ("pull", "-y"), ("push", "-y"), ("pull", "--dry-run"), ("push", "--dry-run")]
)
def test_a_dataset_id_on_neither_side_is_a_dataset_error_naming_the_remote_datasets(
    disk_sides: Sides, args: tuple[str, ...]
) -> None:
    SERIES.run(disk_sides.remote_root, DATASET, 1)
    SERIES.run(disk_sides.remote_root, "lab/other", 1)
    before = roots(disk_sides)
    result = disk_sides.usr(args[0], "dem0", DISK_REMOTE, *args[1:])
    assert result.code == DatasetError.exit_code == 16, result.err + result.out
    assert result.err.splitlines() == [
        f"usr: error[dataset]: dem0: no dataset 'dem0' on either side (local root "
        f"'{disk_sides.local_root}', remote {DISK_REMOTE}); remote {DISK_REMOTE} has 2 datasets: "
        "demo, lab/other; did you mean 'demo'?"
    ]
    assert "up-to-date" not in result.out
    data = result.audit["data"]
    assert data["transfer_state"] == "FAILED" and data["error"]["family"] == "dataset"
    assert "primary" not in data and "plan" not in data
    assert roots(disk_sides) == before


def test_a_broken_remotes_yaml_is_one_file_line_column_error_and_changes_nothing(disk_sides: Sides) -> None:
    SERIES.run(disk_sides.remote_root, DATASET, 1)
    text = disk_sides.remotes_config.read_text()
    disk_sides.remotes_config.write_text(text.replace("client: local", "client: [local"))
    before = roots(disk_sides)
    result = disk_sides.usr("pull", DATASET, DISK_REMOTE, "-y")
    assert result.code == ConfigError.exit_code, result.err
    assert result.err.splitlines() == [
        f"usr: error[config]: {disk_sides.remotes_config}:5:9: invalid YAML: expected ',' or ']', "
        "but got ':' (while parsing a flow sequence)",
        f"  - {disk_sides.remotes_config}",
    ]
    assert "<unicode string>" not in result.err and "ERROR" not in result.out
    assert roots(disk_sides) == before


def direction_line(sides: Sides, dataset: str = DATASET) -> str:
    """`usr diff`'s Direction line; the diff exits 0 and changes neither dataset."""
    before = digests(sides)
    result = sides.usr("diff", dataset, DISK_REMOTE)
    assert result.code == 0, result.err + result.out
    assert digests(sides) == before
    (line,) = [line for line in result.out.splitlines() if line.startswith("  Direction      : ")]
    return f"{result.audit['data']['direction']} | {line.split(' : ', 1)[1]}"


def test_diff_says_which_side_is_ahead_and_the_command_to_run(disk_sides: Sides) -> None:
    pull, push = f"`usr pull demo {DISK_REMOTE}`", f"`usr push demo {DISK_REMOTE}`"
    SERIES.run(disk_sides.remote_root, DATASET, 2)
    assert (
        direction_line(disk_sides)
        == f"remote-only | only remote {DISK_REMOTE} has demo: run {pull} to bring it here"
    )
    sync(disk_sides, "pull")
    assert direction_line(disk_sides) == "up-to-date | up to date: nothing to run"
    SERIES.apply_round(disk_sides.local_root, DATASET, 2)
    assert direction_line(disk_sides) == f"local-ahead | local is ahead: run {push}"
    sync(disk_sides, "push")
    SERIES.apply_round(disk_sides.remote_root, DATASET, 3)
    assert direction_line(disk_sides) == f"remote-ahead | remote is ahead: run {pull}"
    OTHER_JOB.apply_round(disk_sides.local_root, DATASET, 0)
    diverged = direction_line(disk_sides)
    assert diverged.startswith("diverged | diverged: both sides changed since the last sync")
    assert f"{pull} or {push} refuses" in diverged and "--force" in diverged
    OTHER_JOB.run(disk_sides.local_root, "solo", 1)
    assert direction_line(disk_sides, "solo") == (
        f"local-only | only local has solo: run `usr push solo {DISK_REMOTE}` to copy it there"
    )


@pytest.mark.parametrize(
    ("action", "says"),
    [
        ("push", "the remote has a different dataset under this id (its event log does not start with ours"),
        ("pull", "the local dataset under this id is a different one (its event log does not start with"),
    ],
)
def test_a_namesake_made_apart_is_named_as_another_dataset_and_changes_nothing(
    disk_sides: Sides, action: str, says: str
) -> None:
    SERIES.run(disk_sides.remote_root, DATASET, 2)
    OTHER_JOB.run(disk_sides.local_root, DATASET, 1)
    before = roots(disk_sides)
    result = disk_sides.usr(action, DATASET, DISK_REMOTE, "-y")
    assert result.code == EventsError.exit_code, result.err + result.out
    assert result.err.startswith(f"usr: error[events]: {DATASET}: {says}")
    assert "does not extend" not in result.err and "histories branched" not in result.err
    assert roots(disk_sides) == before


class Terminal:
    """stdin as a terminal, so `usr pull` without -y asks."""

    def isatty(self) -> bool:
        return True


def test_the_prompt_lists_files_and_bytes_per_section_and_side_and_its_wait_is_not_timed(
    disk_sides: Sides, monkeypatch: pytest.MonkeyPatch
) -> None:
    from usr_harness.cli.usr import sync as sync_cli

    SERIES.run(disk_sides.remote_root, DATASET, 2)
    clock, asked = [0.0], []

    def answer(question: str) -> bool:
        asked.append(question)
        clock[0] = 1000.0  # the operator took 1000 s to answer
        return True

    monkeypatch.setattr(sync_cli, "_now", lambda: clock[0])
    monkeypatch.setattr(sync_cli, "_confirm", answer)
    monkeypatch.setattr("sys.stdin", Terminal())
    result = disk_sides.usr("pull", DATASET, DISK_REMOTE, "--no-progress")
    assert result.code == 0, result.err + result.out
    plan = result.audit["data"]["plan"]
    remote = fingerprint_tree(disk_sides.remote).entries
    assert plan["copy_bytes"] == sum(entry.size for entry in remote if entry.path in plan["copy"])
    (question,) = asked
    lines = question.splitlines()
    assert lines[-1] == (
        f"pull {len(plan['copy'])} file(s) ({human_bytes(plan['copy_bytes'])}) to local, "
        "delete 0 (0 B) there?"
    )
    header = next(i for i, line in enumerate(lines) if line.split() == ["local", "remote", "copy", "delete"])
    rows = {line.split()[0]: line.split()[1:] for line in lines[header + 1 : -1]}
    assert set(rows) == {"records.parquet", "meta.md", ".events.log", "_derived", "_auxiliary"}
    size = human_bytes(sum(entry.size for entry in remote if entry.path.startswith("_derived/"))).split()
    assert rows["_derived"] == ["-", "2", "files,", *size, "2", "files,", *size, "-"]
    assert f"pull {DATASET}: TRANSFERRED" in result.out and " in 0.0 s " in result.out


def test_dry_run_and_json_diff_carry_bytes(disk_sides: Sides) -> None:
    synced(disk_sides)
    new_part = SERIES.apply_round(disk_sides.local_root, DATASET, 2).part
    local = {entry.path: entry.size for entry in fingerprint_tree(disk_sides.local).entries}
    before = digests(disk_sides)
    dry = disk_sides.usr("push", DATASET, DISK_REMOTE, "--dry-run")
    assert dry.code == 0 and digests(disk_sides) == before, dry.err
    plan = dry.audit["data"]["plan"]
    part = new_part.relative_to(disk_sides.local).as_posix()
    assert part in plan["copy"] and plan["copy_bytes"] == sum(local[path] for path in plan["copy"])
    assert (
        f"  Plan           : copy {len(plan['copy'])} file(s), {human_bytes(plan['copy_bytes'])}; "
        "delete 0, 0 B" in dry.out.splitlines()
    )
    shown = disk_sides.usr("diff", DATASET, DISK_REMOTE, "--format", "json")
    data = json.loads(shown.out)["data"]
    derived = {path: size for path, size in local.items() if path.startswith("_derived/")}
    assert data["_derived"]["local_bytes"] == sum(derived.values())
    assert data["_derived"]["remote_bytes"] == sum(derived.values()) - local[part]
    assert {"local_bytes", "remote_bytes"} <= set(data["_auxiliary"]) & set(data["_snapshots"])
