"""Every catalogue entry, applied for real, changes the tree exactly where it says and nothing else."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.corrupt.effects import check_effect
from usr_harness.corrupt import CATALOGUE, Corruption, LocalTree, RemoteTree, apply
from usr_harness.errors import UsageError
from usr_harness.report.fingerprint import compare, fingerprint_tree
from usr_harness.sync.remote.near.session import SshSession

DATASET = "demo"
SEED = 20260101


@pytest.mark.parametrize("entry", CATALOGUE, ids=lambda entry: entry.id)
def test_local(entry: Corruption, local_root: Path, template_root: Path) -> None:
    before = fingerprint_tree(local_root)
    applied = apply(entry, LocalTree(local_root), DATASET, SEED)
    assert (applied.id, applied.side, applied.seed) == (entry.id, "local", SEED)
    check_effect(entry, applied, before, fingerprint_tree(local_root), local_root, template_root)


@pytest.mark.parametrize("entry", CATALOGUE, ids=lambda entry: entry.id)
def test_remote_matches_local(
    entry: Corruption,
    remote_session: SshSession,
    remote_root: Path,
    local_root: Path,
    template_root: Path,
) -> None:
    """Through SSH only; the same seed breaks the same byte the same way as on the local side."""
    before = fingerprint_tree(remote_root)
    applied = apply(entry, RemoteTree(remote_session, str(remote_root)), DATASET, SEED)
    after = fingerprint_tree(remote_root)
    assert applied.side == "remote"
    check_effect(entry, applied, before, after, remote_root, template_root)

    local = apply(entry, LocalTree(local_root), DATASET, SEED)
    assert (local.path, local.paths, local.detail) == (applied.path, applied.paths, applied.detail)
    assert compare(before, after) == compare(before, fingerprint_tree(local_root))


def test_seed_changes_the_choice(template_root: Path, tmp_path: Path) -> None:
    details = set()
    for seed in range(6):
        root = Path(shutil.copytree(template_root, tmp_path / str(seed), symlinks=True))
        details.add(apply("derived.byte-flip", LocalTree(root), DATASET, seed).detail)
    assert len(details) > 1


def test_a_file_the_kind_cannot_act_on_is_refused_untouched(local_root: Path) -> None:
    log = local_root / "demo/.events.log"
    log.write_bytes(log.read_bytes().splitlines(keepends=True)[0])
    (local_root / "demo/records.parquet").write_bytes(b"no longer parquet")
    before = fingerprint_tree(local_root)
    with pytest.raises(UsageError, match="two different lines"):
        apply("events.reordered", LocalTree(local_root), DATASET, SEED)
    with pytest.raises(UsageError, match=r"primary\.footer-damage does not fit .*records\.parquet"):
        apply("primary.footer-damage", LocalTree(local_root), DATASET, SEED)
    assert compare(before, fingerprint_tree(local_root)).is_empty
