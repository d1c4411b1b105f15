"""diff / pull / push end to end over the real loopback sshd, through the `usr` command line."""

from __future__ import annotations

import errno
import hashlib
import os
import re
import threading
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.parquet_layout import row_group_ends
from tests.usr_sides import DATASET, Sides, make_dataset, overlay_table, records_table
from usr_harness.cli.usr.app import main as usr_main
from usr_harness.dataset import Dataset
from usr_harness.dataset.parquet_io import WRITE_OPTIONS
from usr_harness.dataset.registry import register_namespace
from usr_harness.errors import (
    ConfigError,
    DivergedError,
    LockError,
    SidecarsError,
    StagingError,
    TransportError,
    UsageError,
    VerifyError,
)
from usr_harness.faults.points import armed_env
from usr_harness.report.fingerprint import fingerprint_tree
from usr_harness.sync.commit import durable
from usr_harness.sync.inventory import sides as inventory
from usr_harness.sync.plan import base_store

pytestmark = pytest.mark.ssh


def register_both(sides: Sides) -> None:
    for root in (sides.local_root, sides.remote_root):
        register_namespace(root, "densegen", [("densegen__score", "float64")], owner="hpc")
        register_namespace(root, "infer", [("infer__llr", "float64")], owner="laptop")


def no_stages(root: Path) -> bool:
    return not [name for name in os.listdir(root) if ".usr-stage-" in name or ".usr-promote-" in name]


def flip_same_size(path: Path) -> None:
    data = bytearray(path.read_bytes())
    stat = path.stat()
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def newest_part(folder: Path) -> Path:
    return max(folder.glob("*.parquet"), key=lambda path: path.stat().st_mtime_ns)


def flip_page_byte(path: Path) -> None:
    """Damage the last byte of the last column chunk: inside a data page, which its checksum covers."""
    chunk = pq.read_metadata(path).row_group(0).column(pq.read_metadata(path).num_columns - 1)
    data = bytearray(path.read_bytes())
    data[chunk.data_page_offset + chunk.total_compressed_size - 1] ^= 0x01
    path.write_bytes(bytes(data))


def test_diff_of_missing_and_identical_datasets(sides: Sides):
    make_dataset(sides.remote_root)
    first = sides.usr("diff", DATASET, "loopback")
    assert first.code == 0, first.err
    data = first.audit["data"]
    assert data["transfer_state"] == "DIFF-ONLY" and data["primary"]["changed"] is True
    assert data["_derived"]["remote_only"] and data["verify"]["primary"] == "hash"
    pulled = sides.usr("pull", DATASET, "loopback", "-y")
    assert pulled.code == 0, pulled.err + pulled.out
    again = sides.usr("diff", DATASET, "loopback")
    assert again.audit["data"]["up_to_date"] is True
    assert not any(again.audit["data"][k]["changed"] for k in ("primary", "meta", "_derived", "_auxiliary"))


def test_bootstrap_pull_then_noop(sides: Sides):
    make_dataset(sides.remote_root)
    result = sides.usr("pull", DATASET, "loopback", "-y")
    assert result.code == 0, result.err + result.out
    assert result.audit["data"]["transfer_state"] == "TRANSFERRED"
    assert result.audit["data"]["post"]["up_to_date"] is True
    assert "USR sync audit" in result.out
    sides.assert_equal_trees()
    Dataset.open(sides.local_root, DATASET).validate(strict=False)
    noop = sides.usr("pull", DATASET, "loopback", "-y")
    assert noop.audit["data"]["transfer_state"] == "NO-OP" and "transfer" not in noop.audit["data"]
    assert no_stages(sides.local_root)


def test_only_a_pull_that_decodes_parquet_loads_pyarrow(sides: Sides):
    """pyarrow is a third of a no-op's start-up; a bootstrap pull loads it while the login waits."""
    make_dataset(sides.remote_root)
    imports = {"PYTHONPROFILEIMPORTTIME": "1"}
    bootstrap = sides.usr("pull", DATASET, "loopback", "-y", subprocess_env=imports)
    assert bootstrap.code == 0, bootstrap.err + bootstrap.out
    assert re.search(r"\|\s+pyarrow\.parquet$", bootstrap.err, re.MULTILINE)
    for args in (
        ("pull", DATASET, "loopback", "-y"),
        ("push", DATASET, "loopback", "-y"),
        ("diff", DATASET, "loopback"),
    ):
        result = sides.usr(*args, subprocess_env=imports)
        assert result.code == 0, result.err + result.out
        assert "pyarrow" not in result.err, args


def test_bootstrap_push(sides: Sides):
    make_dataset(sides.local_root)
    result = sides.usr("push", DATASET, "loopback", "-y")
    assert result.code == 0, result.err + result.out
    assert result.audit["data"]["post"]["up_to_date"] is True
    sides.assert_equal_trees()
    assert no_stages(sides.remote_root)


def test_iterative_hpc_rounds(sides: Sides):
    register_both(sides)
    remote = Dataset.init(sides.remote_root, DATASET, source="hpc")
    for round_no in range(5):
        remote = Dataset.open(sides.remote_root, DATASET)
        remote.import_rows(records_table(100 * round_no, 6), source="hpc")
        remote.attach(overlay_table(remote, "densegen__score", round_no + 1.0), namespace="densegen")
        pulled = sides.usr("pull", DATASET, "loopback", "-y")
        assert pulled.code == 0, pulled.err + pulled.out
        local = Dataset.open(sides.local_root, DATASET)
        local.attach(overlay_table(local, "infer__llr", -1.0 - round_no), namespace="infer")
        pushed = sides.usr("push", DATASET, "loopback", "-y")
        assert pushed.code == 0, pushed.err + pushed.out
        final = sides.usr("diff", DATASET, "loopback")
        assert final.audit["data"]["up_to_date"] is True, final.out
        sides.assert_equal_trees()
    assert Dataset.open(sides.local_root, DATASET).read().num_rows == 30


def test_remote_part_flip_is_reported_and_never_pulled(sides: Sides):
    make_dataset(sides.remote_root)
    assert sides.usr("pull", DATASET, "loopback", "-y").code == 0
    part = next((sides.remote / "_derived").rglob("*.parquet"))
    flip_same_size(part)
    before = sides.fingerprints()
    diff = sides.usr("diff", DATASET, "loopback")
    assert diff.code == SidecarsError.exit_code and "_derived" in diff.err
    assert diff.audit["data"]["_derived"]["changed"] is True
    pulled = sides.usr("pull", DATASET, "loopback", "-y", "--force")
    assert pulled.code == SidecarsError.exit_code
    assert pulled.audit["data"]["transfer_state"] == "FAILED"
    assert pulled.audit["data"]["error"]["family"] == "sidecars"
    assert sides.fingerprints() == before


def test_push_of_new_parquet_with_an_unreadable_base_fails_config_and_changes_nothing(sides: Sides):
    """The early parquet-check guess reads the base too; an unreadable one is still the plan's `config`."""
    make_dataset(sides.local_root)
    assert sides.usr("push", DATASET, "loopback", "-y").code == 0
    dataset = Dataset.open(sides.local_root, DATASET)
    dataset.attach(overlay_table(dataset, "infer__llr", 2.0), namespace="infer")
    base_store.base_path(sides.local_root, DATASET, "loopback").write_text("{not json")
    before = sides.fingerprints()
    refused = sides.usr("push", DATASET, "loopback", "-y")
    assert refused.code == ConfigError.exit_code, refused.out + refused.err
    assert refused.audit["data"]["error"]["family"] == "config"
    assert sides.fingerprints() == before
    assert no_stages(sides.remote_root)


def test_remote_file_added_since_the_base_is_kept_by_push_and_brought_by_pull(sides: Sides):
    make_dataset(sides.local_root)
    assert sides.usr("push", DATASET, "loopback", "-y").code == 0
    (sides.remote / "_artifacts").mkdir()
    (sides.remote / "_artifacts" / "hpc-note.json").write_text("{}")
    before = sides.fingerprints()
    for flags in ((), ("--force",)):
        kept = sides.usr("push", DATASET, "loopback", "-y", *flags)
        assert kept.code == 0 and kept.audit["data"]["transfer_state"] == "NO-OP", kept.out
        assert kept.audit["data"]["kept"] == {"side": "remote", "paths": ["_artifacts/hpc-note.json"]}
        assert "Kept           : 1 remote addition(s): _artifacts/hpc-note.json" in kept.out
        assert sides.fingerprints() == before
    assert sides.usr("pull", DATASET, "loopback", "-y").code == 0
    sides.assert_equal_trees()


def test_pull_of_missing_remote_dataset_names_the_token(sides: Sides):
    sides.remote.mkdir()
    (sides.remote / "meta.md").write_text("# demo: records.parquet not written yet\n")
    result = sides.usr("pull", DATASET, "loopback", "-y")
    assert result.code == VerifyError.exit_code and "remote records.parquet is missing" in result.err
    assert result.audit["data"]["transfer_state"] == "FAILED"
    assert not (sides.local_root / DATASET).exists()


def test_usage_errors_come_before_any_network_call(sides: Sides, tmp_path: Path):
    missing_config = tmp_path / "nope.yaml"
    for args in (("pull", DATASET, "loopback", "--primary-only"), ("push", "../x", "loopback", "-y")):
        sides.remotes_config, saved = missing_config, sides.remotes_config
        result = sides.usr(*args)
        sides.remotes_config = saved
        assert result.code == UsageError.exit_code, result.err


def test_refuses_without_terminal_or_yes(sides: Sides):
    make_dataset(sides.remote_root)
    result = sides.usr("pull", DATASET, "loopback")
    assert result.code == UsageError.exit_code and "-y" in result.err
    assert not (sides.local_root / DATASET / "records.parquet").exists()


def test_dry_run_changes_nothing(sides: Sides):
    make_dataset(sides.local_root)
    result = sides.usr("push", DATASET, "loopback", "--dry-run")
    assert result.audit["data"]["transfer_state"] == "DRY-RUN"
    assert not (sides.remote_root / DATASET).exists()


@pytest.mark.parametrize(
    "point", ["before-staging", "mid-transfer", "after-staging", "mid-promotion", "before-post-verify"]
)
@pytest.mark.parametrize("action", ["pull", "push"])
def test_killed_client_leaves_wholly_old_or_new(sides: Sides, action: str, point: str):
    make_dataset(sides.remote_root if action == "pull" else sides.local_root)
    assert sides.usr(action, DATASET, "loopback", "-y").code == 0
    source_root = sides.remote_root if action == "pull" else sides.local_root
    source = Dataset.open(source_root, DATASET)
    source.attach(overlay_table(source, "densegen__score", 9.0), namespace="densegen")
    killed = sides.usr(action, DATASET, "loopback", "-y", subprocess_env=armed_env(f"{point}:kill"))
    remote_died = action == "push" and point == "mid-promotion"
    assert killed.code == (TransportError.exit_code if remote_died else -9), killed.err
    after = sides.usr(action, DATASET, "loopback", "-y")
    assert after.code == 0, after.err + after.out
    sides.assert_equal_trees()
    assert no_stages(sides.local_root) and no_stages(sides.remote_root)


def test_concurrent_pushes_do_not_interleave(sides: Sides, tmp_path: Path):
    make_dataset(sides.local_root)
    results = []

    def push() -> None:
        results.append(sides.usr("push", DATASET, "loopback", "-y", "--lock-timeout", "0", subprocess_env={}))

    threads = [threading.Thread(target=push) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    codes = sorted(r.code for r in results)
    assert codes[0] == 0
    assert codes[1] in (0, LockError.exit_code, DivergedError.exit_code)
    sides.assert_equal_trees()


def test_audit_json_matches_runbook_jq_paths(sides: Sides):
    make_dataset(sides.remote_root)
    audit = sides.usr("diff", DATASET, "loopback").audit
    assert audit["usr_output_version"] == 1
    data = audit["data"]
    assert data["transfer_state"] == "DIFF-ONLY"
    assert isinstance(data["_derived"]["changed"], bool)
    assert isinstance(data["_derived"]["local_only"], list)
    assert data["verify"]["content_hashes"] == "on" and data["verify"]["sidecars"] == "strict"
    assert {"changed", "local", "remote"} <= set(data[".events.log"])
    assert {"changed", "remote_count", "newer_than_local"} <= set(data["_snapshots"])


def test_hash_of_audit_is_stable_for_identical_state(sides: Sides):
    make_dataset(sides.remote_root)
    sides.usr("pull", DATASET, "loopback", "-y")
    first = sides.usr("diff", DATASET, "loopback").audit
    second = sides.usr("diff", DATASET, "loopback").audit
    digest = [hashlib.sha256(repr(a["data"]).encode()).hexdigest() for a in (first, second)]
    assert digest[0] == digest[1]


def test_damaged_new_local_part_is_refused_by_push_and_nothing_reaches_the_remote(sides: Sides):
    register_both(sides)
    local = make_dataset(sides.local_root)
    assert sides.usr("push", DATASET, "loopback", "-y").code == 0
    local.attach(overlay_table(local, "infer__llr", -2.0), namespace="infer")
    newest = newest_part(sides.local / "_derived" / "infer")
    flip_page_byte(newest)
    before = sides.fingerprints()
    pushed = sides.usr("push", DATASET, "loopback", "-y")
    assert pushed.code == VerifyError.exit_code, pushed.out + pushed.err
    assert pushed.audit["data"]["transfer_state"] == "FAILED"
    assert "parquet checksum decoding" in pushed.audit["data"]["error"]["message"]
    assert sides.fingerprints() == before
    assert no_stages(sides.remote_root)


def test_damaged_new_remote_part_is_refused_by_pull_and_nothing_reaches_the_laptop(sides: Sides):
    register_both(sides)
    remote = make_dataset(sides.remote_root)
    assert sides.usr("pull", DATASET, "loopback", "-y").code == 0
    remote.attach(overlay_table(remote, "densegen__score", 3.0), namespace="densegen")
    newest = newest_part(sides.remote / "_derived" / "densegen")
    flip_page_byte(newest)
    before = sides.fingerprints()
    pulled = sides.usr("pull", DATASET, "loopback", "-y")
    assert pulled.code == VerifyError.exit_code, pulled.out + pulled.err
    assert pulled.audit["data"]["error"]["paths"] == [newest.relative_to(sides.remote).as_posix()]
    assert sides.fingerprints() == before
    assert no_stages(sides.local_root)


def test_a_damaged_remote_primary_is_refused_while_it_arrives_and_nothing_reaches_the_laptop(
    sides: Sides, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setitem(WRITE_OPTIONS, "row_group_size", 100)
    make_dataset(sides.remote_root, rows=1000)
    primary = sides.remote / "records.parquet"
    ends = row_group_ends(pq.read_metadata(primary))
    assert len(ends) == 10
    data = bytearray(primary.read_bytes())
    data[ends[1] - 1] ^= 0x01  # inside the last data page of row group 1, far from the file's end
    primary.write_bytes(bytes(data))
    before = fingerprint_tree(sides.remote)
    pulled = sides.usr("pull", DATASET, "loopback", "-y")
    assert pulled.code == VerifyError.exit_code, pulled.out + pulled.err
    assert pulled.audit["data"]["error"]["paths"] == ["records.parquet"]
    assert "parquet checksum decoding" in pulled.audit["data"]["error"]["message"]
    assert fingerprint_tree(sides.remote) == before
    assert not sides.local.exists()
    assert no_stages(sides.local_root)


def test_a_multi_row_group_primary_round_trips_byte_for_byte(sides: Sides, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(WRITE_OPTIONS, "row_group_size", 100)
    make_dataset(sides.remote_root, rows=1000)
    assert sides.usr("pull", DATASET, "loopback", "-y").code == 0
    assert (sides.local / "records.parquet").read_bytes() == (sides.remote / "records.parquet").read_bytes()
    assert sides.usr("diff", DATASET, "loopback").code == 0


def test_a_remote_primary_rewritten_in_place_after_it_streamed_fails_the_pull(
    sides: Sides, monkeypatch: pytest.MonkeyPatch
):
    """The agent hashes new files while they stream; a file changed before that hash is
    collected no longer matches what was staged, and nothing is promoted."""
    make_dataset(sides.remote_root)
    primary = sides.remote / "records.parquet"
    settle = inventory.settle_remote_hashes

    def rewrite_then_settle(state, agent):
        data = primary.read_bytes()
        at = data.rindex(b"parquet-cpp-arrow")  # the footer's created_by: the file stays valid parquet
        primary.write_bytes(data[:at] + b"P" + data[at + 1 :])
        return settle(state, agent)

    monkeypatch.setattr(inventory, "settle_remote_hashes", rewrite_then_settle)
    pulled = sides.usr("pull", DATASET, "loopback", "-y")
    assert pulled.code == VerifyError.exit_code, pulled.out + pulled.err
    assert pulled.audit["data"]["error"]["paths"] == ["records.parquet"]
    assert "do not match the remote manifest" in pulled.audit["data"]["error"]["message"]
    assert not sides.local.exists()
    assert no_stages(sides.local_root)


def test_a_pull_whose_pending_hashes_were_never_collected_refuses_to_promote(
    sides: Sides, monkeypatch: pytest.MonkeyPatch
):
    """A hash still pending is never read as 'nothing to compare': the staged files stay unproven."""
    make_dataset(sides.remote_root)
    monkeypatch.setattr(inventory, "settle_remote_hashes", lambda state, agent: state.remote)
    pulled = sides.usr("pull", DATASET, "loopback", "-y")
    assert pulled.code == VerifyError.exit_code, pulled.out + pulled.err
    assert "records.parquet" in pulled.audit["data"]["error"]["paths"]
    assert not sides.local.exists()
    assert no_stages(sides.local_root)


def test_a_staged_file_that_cannot_be_made_durable_fails_the_pull_and_changes_nothing(
    sides: Sides, monkeypatch: pytest.MonkeyPatch
):
    register_both(sides)
    remote = make_dataset(sides.remote_root)
    assert sides.usr("pull", DATASET, "loopback", "-y").code == 0
    remote.attach(overlay_table(remote, "densegen__score", 4.0), namespace="densegen")

    def failing_sync(path: str) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(durable, "sync_path", failing_sync)
    before = sides.fingerprints()
    pulled = sides.usr("pull", DATASET, "loopback", "-y")
    assert pulled.code == StagingError.exit_code, pulled.out + pulled.err
    assert pulled.audit["data"]["error"]["family"] == "staging"
    assert "Input/output error" in pulled.audit["data"]["error"]["message"]
    assert sides.fingerprints() == before
    assert no_stages(sides.local_root)


def _full_audit_path(small_disk, tmp_path: Path) -> Path:
    """An --audit-json-out on a filesystem with no free byte."""
    full = small_disk(tmp_path / "full", 4096)
    (full / "filler").write_bytes(b"x" * 4096)
    return full / "audit.json"


def test_an_audit_that_cannot_be_written_is_staging_after_the_push_landed(
    sides: Sides, small_disk, tmp_path: Path, capsys
):
    make_dataset(sides.local_root)
    audit = _full_audit_path(small_disk, tmp_path)
    argv = ["--root", str(sides.local_root), "--remotes-config", str(sides.remotes_config)]
    code = usr_main([*argv, "push", DATASET, "loopback", "-y", "--audit-json-out", str(audit)])
    err = capsys.readouterr().err
    assert code == StagingError.exit_code
    assert f"cannot write the audit JSON '{audit}'" in err and "the push itself ended TRANSFERRED" in err
    assert len(err.strip().splitlines()) == 2 and not audit.exists()
    sides.assert_equal_trees()


def test_an_audit_that_cannot_be_written_never_hides_the_failure(
    sides: Sides, small_disk, tmp_path: Path, capsys
):
    make_dataset(sides.local_root)
    audit = _full_audit_path(small_disk, tmp_path)
    before = fingerprint_tree(sides.local_root)
    argv = ["--root", str(sides.local_root), "--remotes-config", str(sides.remotes_config)]
    code = usr_main([*argv, "push", DATASET, "nowhere", "-y", "--audit-json-out", str(audit)])
    captured = capsys.readouterr()
    assert code == ConfigError.exit_code and "usr: error[config]: " in captured.err
    assert "WARNING: local demo: cannot write the audit JSON" in captured.out
    assert fingerprint_tree(sides.local_root).digest == before.digest
    assert not any(sides.remote_root.iterdir())
