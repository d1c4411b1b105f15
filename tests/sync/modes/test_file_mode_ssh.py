"""File mode (`usr diff|pull|push FILE REMOTE`) over the real loopback sshd, and its shared file functions."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from tests.usr_sides import Sides, records_table
from usr_harness.dataset.parquet_io import write_parquet
from usr_harness.errors import DivergedError, UsageError, VerifyError
from usr_harness.report.fingerprint import fingerprint_tree
from usr_harness.sync.modes.file_mode import FileSide, effective_mode
from usr_harness.sync.remote.far.file_agent import (
    FileRefusal,
    checked_file_path,
    lock_file_target,
    open_file_stage,
    promote_file,
)

# Round trips run with both SSH clients; refusals are the agent's, so paramiko alone covers them.
CLIENTS = ("paramiko", "openssh")


@dataclass
class Files:
    sides: Sides
    local_repo: Path
    remote_repo: Path

    def usr(self, *args: str):
        return self.sides.usr(*args)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot(*paths: Path) -> list[tuple[str, int, int] | None]:
    """Bytes, inode and mtime of each path: unchanged means nothing was written or replaced."""
    out = []
    for path in paths:
        if path.exists():
            info = path.stat()
            out.append((sha(path), info.st_ino, info.st_mtime_ns))
        else:
            out.append(None)
    return out


def no_temps(*folders: Path) -> bool:
    return not [p for folder in folders for p in folder.iterdir() if p.name.startswith(".usr-tmp-")]


def data_prints(*trees: Path) -> list[list]:
    """Every entry of each tree but file mode's runtime `.<name>.usr.lock` files (a reader takes one)."""
    return [[e for e in fingerprint_tree(tree).entries if not e.path.endswith(".usr.lock")] for tree in trees]


def write_damaged_parquet(path: Path) -> None:
    """A parquet file whose first column chunk has one flipped byte: its page checksum fails."""
    write_parquet(records_table(0, 200), path)
    chunk = pq.read_metadata(path).row_group(0).column(0)
    data = bytearray(path.read_bytes())
    data[(chunk.dictionary_page_offset or chunk.data_page_offset) + chunk.total_compressed_size - 2] ^= 0xFF
    path.write_bytes(bytes(data))


def set_profile(sides: Sides, **settings: str) -> None:
    document = yaml.safe_load(sides.remotes_config.read_text())
    document["remotes"]["loopback"].update(settings)
    sides.remotes_config.write_text(yaml.safe_dump(document))


@pytest.fixture
def files(request, sides: Sides, tmp_path: Path) -> Files:
    set_profile(sides, client=getattr(request, "param", "paramiko"))
    local_repo, remote_repo = tmp_path / "laptop-repo", sides.remote_root / "repo"
    for folder in (local_repo / "outputs", remote_repo / "outputs"):
        folder.mkdir(parents=True)
    return Files(sides, local_repo, remote_repo)


@pytest.mark.parametrize("files", CLIENTS, indirect=True)
def test_parquet_round_trip_with_remote_path(files: Files):
    local = files.local_repo / "outputs" / "records.parquet"
    remote = files.remote_repo / "outputs" / "records.parquet"
    write_parquet(records_table(0, 20), local)
    where = ("--remote-path", str(remote))
    before = files.usr("diff", str(local), "loopback", *where)
    assert before.code == 0, before.err
    data = before.audit["data"]
    assert data["mode"] == "file" and data["transfer_state"] == "DIFF-ONLY"
    assert data["primary"]["changed"] is True and data["primary"]["remote"] is None
    pushed = files.usr("push", str(local), "loopback", "-y", *where)
    assert pushed.code == 0, pushed.err + pushed.out
    assert pushed.audit["data"]["transfer_state"] == "TRANSFERRED"
    assert pushed.audit["data"]["post"]["up_to_date"] is True and sha(local) == sha(remote)
    assert "Remote path    : " + str(remote) in pushed.out
    write_parquet(records_table(0, 40), remote)
    pulled = files.usr("pull", str(local), "loopback", "-y", *where)
    assert pulled.code == 0, pulled.err + pulled.out
    assert pulled.audit["data"]["transfer_state"] == "TRANSFERRED" and sha(local) == sha(remote)
    after = files.usr("diff", str(local), "loopback", *where)
    assert after.audit["data"]["up_to_date"] is True
    by_rows = files.usr("diff", str(local), "loopback", "--verify", "parquet", *where).audit["data"]
    assert by_rows["primary"]["local"]["rows"] == 40 and by_rows["up_to_date"] is True
    assert no_temps(local.parent, remote.parent)


@pytest.mark.parametrize("files", CLIENTS, indirect=True)
def test_other_file_maps_through_profile_repo_root(files: Files):
    set_profile(files.sides, repo_root=str(files.remote_repo), local_repo_root=str(files.local_repo))
    local = files.local_repo / "outputs" / "notes.csv"
    local.write_text("a,b\n1,2\n")
    pushed = files.usr("push", str(local), "loopback", "-y")
    assert pushed.code == 0, pushed.err + pushed.out
    remote = files.remote_repo / "outputs" / "notes.csv"
    assert pushed.audit["data"]["remote_path"] == str(remote) and sha(remote) == sha(local)
    remote.write_text("a,b\n1,2\n3,4\n")
    pulled = files.usr("pull", str(local), "loopback", "-y")
    assert pulled.code == 0, pulled.err + pulled.out
    assert local.read_text() == "a,b\n1,2\n3,4\n"


def test_identical_file_is_noop_with_no_bytes_moved(files: Files):
    local = files.local_repo / "outputs" / "records.parquet"
    remote = files.remote_repo / "outputs" / "records.parquet"
    write_parquet(records_table(0, 10), local)
    remote.write_bytes(local.read_bytes())
    before = snapshot(local, remote)
    for action in ("pull", "push"):
        result = files.usr(action, str(local), "loopback", "-y", "--remote-path", str(remote))
        assert result.code == 0, result.err + result.out
        assert result.audit["data"]["transfer_state"] == "NO-OP"
        assert "transfer" not in result.audit["data"]
        assert snapshot(local, remote) == before
    assert no_temps(local.parent, remote.parent)


@pytest.mark.parametrize("action", ["push", "pull"])
def test_target_changed_since_last_sync_is_refused_without_force(files: Files, action: str):
    local = files.local_repo / "outputs" / "records.parquet"
    remote = files.remote_repo / "outputs" / "records.parquet"
    where = ("--remote-path", str(remote))
    write_parquet(records_table(0, 10), local)
    assert files.usr("push", str(local), "loopback", "-y", *where).code == 0
    write_parquet(records_table(0, 11), local)
    write_parquet(records_table(5, 12), remote)
    before = [sha(local), sha(remote)]
    refused = files.usr(action, str(local), "loopback", "-y", *where)
    assert refused.code == DivergedError.exit_code, refused.err + refused.out
    assert refused.audit["data"]["transfer_state"] == "FAILED"
    assert refused.audit["data"]["error"]["family"] == "diverged"
    assert "changed since the last sync" in refused.err
    assert [sha(local), sha(remote)] == before
    forced = files.usr(action, str(local), "loopback", "-y", "--force", *where)
    assert forced.code == 0, forced.err + forced.out
    assert forced.audit["data"]["forced"] and sha(local) == sha(remote)


@pytest.mark.parametrize("action", ["diff", "pull", "push"])
def test_remote_symlink_at_target_is_refused(files: Files, action: str):
    local = files.local_repo / "outputs" / "records.parquet"
    write_parquet(records_table(0, 10), local)
    pointee = files.remote_repo / "elsewhere.parquet"
    write_parquet(records_table(0, 3), pointee)
    link = files.remote_repo / "outputs" / "records.parquet"
    link.symlink_to(pointee)
    before = [sha(local), sha(pointee)]
    flags = () if action == "diff" else ("-y", "--force")
    result = files.usr(action, str(local), "loopback", *flags, "--remote-path", str(link))
    assert result.code == VerifyError.exit_code, result.err + result.out
    assert "symlink entry" in result.err and result.audit["data"]["transfer_state"] == "FAILED"
    assert link.is_symlink() and [sha(local), sha(pointee)] == before


def test_corrupt_remote_parquet_is_never_promoted(files: Files):
    local = files.local_repo / "outputs" / "records.parquet"
    remote = files.remote_repo / "outputs" / "records.parquet"
    write_damaged_parquet(remote)
    result = files.usr("pull", str(local), "loopback", "-y", "--remote-path", str(remote))
    assert result.code == VerifyError.exit_code, result.err + result.out
    assert "checksum" in result.err and not local.exists() and no_temps(local.parent)


@pytest.mark.parametrize(
    "flag", ["--primary-only", "--skip-snapshots", "--no-verify-sidecars", "--verify-derived-hashes"]
)
def test_file_mode_refuses_dataset_only_flags(files: Files, flag: str, tmp_path: Path):
    local = files.local_repo / "outputs" / "records.parquet"
    write_parquet(records_table(0, 5), local)
    files.sides.remotes_config = tmp_path / "absent.yaml"
    result = files.usr("push", str(local), "loopback", "-y", flag, "--remote-path", "/x/records.parquet")
    assert result.code == UsageError.exit_code, result.err
    assert flag in result.err and "file mode" in result.err and result.audit is None


def test_file_mode_needs_a_remote_path(files: Files):
    local = files.local_repo / "outputs" / "records.parquet"
    write_parquet(records_table(0, 5), local)
    result = files.usr("push", str(local), "loopback", "-y")
    assert result.code == UsageError.exit_code and "--remote-path" in result.err
    assert result.audit["data"]["error"]["family"] == "usage"
    assert "Remote path    : not resolved (see the error)" in result.out and "None" not in result.out


def test_pull_creates_missing_local_folders(files: Files):
    remote = files.remote_repo / "outputs" / "records.parquet"
    write_parquet(records_table(0, 12), remote)
    local = files.local_repo / "new" / "deep" / "records.parquet"
    pulled = files.usr("pull", str(local), "loopback", "-y", "--remote-path", str(remote))
    assert pulled.code == 0, pulled.err + pulled.out
    assert pulled.audit["data"]["transfer_state"] == "TRANSFERRED" and sha(local) == sha(remote)


def test_failed_pull_into_missing_folders_leaves_both_sides_as_they_were(files: Files):
    remote = files.remote_repo / "outputs" / "records.parquet"
    write_damaged_parquet(remote)
    before = data_prints(files.local_repo, files.remote_repo)
    local = files.local_repo / "new" / "deep" / "records.parquet"
    result = files.usr("pull", str(local), "loopback", "-y", "--remote-path", str(remote))
    assert result.code == VerifyError.exit_code, result.err + result.out
    assert result.err.startswith("usr: error[verify]: ") and len(result.err.splitlines()) <= 2
    assert not (files.local_repo / "new").exists()
    assert data_prints(files.local_repo, files.remote_repo) == before


def test_dry_run_pull_creates_no_folder(files: Files):
    remote = files.remote_repo / "outputs" / "records.parquet"
    write_parquet(records_table(0, 5), remote)
    local = files.local_repo / "new" / "records.parquet"
    result = files.usr("pull", str(local), "loopback", "--dry-run", "--remote-path", str(remote))
    assert result.code == 0 and result.audit["data"]["transfer_state"] == "DRY-RUN"
    assert not local.parent.exists()


def test_relative_path_is_taken_under_the_repo_root(files: Files, tmp_path: Path, monkeypatch):
    set_profile(files.sides, repo_root=str(files.remote_repo))
    (files.local_repo / "outputs" / "notes.csv").write_text("a\n1\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    pushed = files.usr("push", "outputs/notes.csv", "loopback", "-y", "--repo-root", str(files.local_repo))
    assert pushed.code == 0, pushed.err + pushed.out
    assert pushed.audit["data"]["target"] == str(files.local_repo / "outputs" / "notes.csv")
    assert (files.remote_repo / "outputs" / "notes.csv").read_text() == "a\n1\n"
    assert not (elsewhere / "outputs").exists()


def test_promote_file_is_compare_and_swap(tmp_path: Path):
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")
    target.chmod(0o640)
    held = lock_file_target(str(target), exclusive=True, timeout=1)
    try:
        staged = open_file_stage(str(target))
        staged.write(b"new")
        staged.close()
        with pytest.raises(FileRefusal, match="changed while"):
            promote_file(staged.path, str(target), hashlib.sha256(b"other").hexdigest())
        promote_file(staged.path, str(target), hashlib.sha256(b"old").hexdigest())
    finally:
        held.release()
    assert target.read_bytes() == b"new" and target.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == [".f.bin.usr.lock", "f.bin"]


def test_abandoned_stage_is_swept_by_the_next_writer(tmp_path: Path):
    target = tmp_path / "f.bin"
    open_file_stage(str(target)).close()
    unrelated = tmp_path / ".usr-tmp-0123456789ab-f.bin.bak"
    unrelated.write_bytes(b"x")
    lock_file_target(str(target), exclusive=True, timeout=1).release()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".f.bin.usr.lock", unrelated.name]


@pytest.mark.parametrize("bad", ["relative/x", "/a/../b", "/a//b", "/a/b\n", "/", "//a"])
def test_agent_paths_must_be_absolute_and_normalised(bad: str):
    with pytest.raises(FileRefusal):
        checked_file_path(bad)
    assert checked_file_path("~/x") == os.path.expanduser("~/x")


def test_auto_verify_is_hash_and_falls_back_to_size_with_a_warning():
    hashed, bare = FileSide(True, 3, "ab"), FileSide(True, 3)
    assert effective_mode("auto", hashed, hashed, "f") == ("hash", [])
    assert effective_mode("auto", hashed, FileSide(False), "f") == ("hash", [])
    mode, warnings = effective_mode("auto", hashed, bare, "f")
    assert mode == "size" and warnings[0].startswith("WARNING: --verify auto fell back")
    mode, warnings = effective_mode("parquet", bare, bare, "f")
    assert mode == "parquet" and "parquet fell back to size" in warnings[0]
    counted = FileSide(True, 3, None, {"rows": 1, "cols": 2})
    assert effective_mode("parquet", counted, counted, "f") == ("parquet", [])


@pytest.mark.parametrize("action", ["push", "pull"])
def test_file_mode_prints_its_phases_and_a_summary(files: Files, action: str):
    local = files.local_repo / "outputs" / "notes.csv"
    remote = files.remote_repo / "outputs" / "notes.csv"
    (local if action == "push" else remote).write_text("a,b\n" + "1,2\n" * 5000)
    if action == "pull":
        local.write_text("a,b\n")
    where = ("--remote-path", str(remote), "--force")
    moved = files.usr(action, str(local), "loopback", "-y", *where)
    assert moved.code == 0, moved.err + moved.out
    phases = [
        line.split(": ", 2)[2].split()[0] for line in moved.out.splitlines() if line.startswith("usr: ")
    ]
    expected = ["connect", "compare", "transfer", "moved"] + (["verify"] if action == "pull" else [])
    assert phases == [*expected, "promote", "post-verify"], moved.out
    assert f"{action} {local}: TRANSFERRED, 1 files, 0.0 MB in " in moved.out and sha(local) == sha(remote)


def test_ctrl_c_in_a_file_pull_before_its_rename_changes_nothing(
    files: Files, monkeypatch: pytest.MonkeyPatch
):
    from usr_harness.cli.usr import progress as sync_progress

    local = files.local_repo / "outputs" / "notes.csv"
    remote = files.remote_repo / "outputs" / "notes.csv"
    local.write_text("old\n")
    remote.write_text("new on the cluster\n")
    before = data_prints(files.local_repo, files.remote_repo)
    said = sync_progress.PhaseLines.phase

    def interrupt(self, name: str) -> None:
        said(self, name)
        if name == "verify":
            raise KeyboardInterrupt

    monkeypatch.setattr(sync_progress.PhaseLines, "phase", interrupt)
    result = files.usr("pull", str(local), "loopback", "-y", "--remote-path", str(remote), "--force")
    assert result.code == 130, result.err + result.out
    (line,) = [line for line in result.err.splitlines() if "interrupted" in line]
    assert line.startswith(f"usr: pull of {local} interrupted during verify: nothing was promoted")
    assert data_prints(files.local_repo, files.remote_repo) == before
    assert no_temps(local.parent, remote.parent)
