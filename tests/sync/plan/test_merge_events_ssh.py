"""`usr events merge` over a real sshd: it rewrites only the local log, and refuses touching nothing."""

from __future__ import annotations

import shutil

from tests.usr_sides import DATASET, Sides, make_dataset, overlay_table
from usr_harness.dataset import Dataset
from usr_harness.errors import DatasetError, EventsError, UsageError, VerifyError
from usr_harness.report.fingerprint import fingerprint_tree
from usr_harness.sync.plan import base_store


def _branch(sides: Sides) -> tuple[bytes, bytes]:
    """Both logs grow by one attach after a push; returns (the shared log, the local log)."""
    make_dataset(sides.local_root)
    assert sides.usr("push", DATASET, "loopback", "-y").code == 0
    shared = (sides.local / ".events.log").read_bytes()
    shutil.copy2(sides.local_root / "registry.yaml", sides.remote_root / "registry.yaml")
    for root in (sides.local_root, sides.remote_root):
        dataset = Dataset.open(root, DATASET)
        dataset.attach(
            overlay_table(dataset, "infer__llr", 2.0 if root == sides.local_root else 3.0), namespace="infer"
        )
    return shared, (sides.local / ".events.log").read_bytes()


def test_merge_rewrites_the_local_log_only_then_pull_and_push_converge(sides: Sides):
    shared, local_log = _branch(sides)
    remote_log = (sides.remote / ".events.log").read_bytes()
    remote_before = sides.fingerprints()[1]
    merged = sides.usr("events", "merge", DATASET, "loopback")
    assert merged.code == 0, merged.err
    assert "then the remote's 1 new line(s), then this side's 1 new line(s)" in merged.out
    assert (sides.local / ".events.log").read_bytes() == remote_log + local_log[len(shared) :]
    assert sides.fingerprints()[1] == remote_before
    again = sides.usr("events", "merge", DATASET, "loopback")
    assert again.code == 0 and "nothing to merge" in again.out
    for action in ("pull", "push"):
        result = sides.usr(action, DATASET, "loopback", "-y")
        assert result.code == 0, result.err
    sides.assert_equal_trees()


def test_merge_without_a_base_refuses_and_changes_nothing(sides: Sides):
    _branch(sides)
    base_store.base_path(sides.local_root, DATASET, "loopback").unlink()
    before = sides.fingerprints()
    refused = sides.usr("events", "merge", DATASET, "loopback")
    assert refused.code == EventsError.exit_code, refused.err
    assert refused.err.startswith("usr: error[events]: demo: no last sync recorded")
    assert sides.fingerprints() == before


def test_merge_of_a_missing_dataset_or_an_unsafe_id_is_a_named_error(sides: Sides):
    missing = sides.usr("events", "merge", DATASET, "loopback")
    assert missing.code == DatasetError.exit_code and "error[dataset]" in missing.err
    unsafe = sides.usr("events", "merge", "../x", "loopback")
    assert unsafe.code == UsageError.exit_code and "error[usage]" in unsafe.err


def test_merge_against_a_remote_without_the_dataset_is_named_and_leaves_no_folder(sides: Sides):
    make_dataset(sides.local_root)
    before = fingerprint_tree(sides.local), fingerprint_tree(sides.remote_root)
    refused = sides.usr("events", "merge", DATASET, "loopback")
    assert refused.code == VerifyError.exit_code, refused.err
    assert refused.err.startswith("usr: error[verify]: ") and "remote '.events.log'" in refused.err
    assert (fingerprint_tree(sides.local), fingerprint_tree(sides.remote_root)) == before
    assert not sides.remote.exists()
