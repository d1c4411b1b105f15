"""Disk full on the receiving side: a real tmpfs runs out, the command fails `staging`, nothing is lost.

The receiving root (the laptop's datasets root for a pull, the remote base_dir for a push)
is a small tmpfs. Either it is too small from the start, so the free-space preflight must
refuse before any byte moves, or it has room for the preflight and a `fill` fault point then
takes every free byte, as another writer filling the disk would: right after the preflight
(a staged file's write fails midway), or once every file is staged (on a pull, the
promotion journal cannot be written). Both trees must be byte-identical afterwards, with no stage left; once
there is room again, the same command goes through.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from usr_harness.faults.points import armed_env
from usr_harness.faults.small_disk import resize, used_bytes

from .conftest import Sync

pytestmark = [
    pytest.mark.drill,
    pytest.mark.ssh,
    pytest.mark.fault,
    pytest.mark.slow,
    pytest.mark.enforces(
        "docs/operations/sync/audit-loop.md#failure-handling", "H-disk-full", "H-failure-changes-nothing"
    ),
]

ROOMY = 64 << 20
HEADROOM = 1 << 20
"""Room left above what is used for the mid-write case: far more than the transfer needs."""
WORDS = {
    "preflight": "not enough free space",
    "mid-write": "disk full while staging",
    "journal": "disk full while staging",
}


def _stages(root: Path) -> list[str]:
    return [name for name in os.listdir(root) if ".usr-stage-" in name or ".usr-promote-" in name]


def _receiving_root(sync: Sync, request: pytest.FixtureRequest, action: str) -> Path:
    if action == "push" and request.config.getoption("--remote-provider") != "loopback":
        pytest.skip("the remote side's tmpfs is mounted on this machine: needs the loopback host")
    return sync.local_root if action == "pull" else sync.remote_root


CASES = [
    ("pull", "preflight"),
    ("pull", "mid-write"),
    ("pull", "journal"),
    ("push", "preflight"),
    ("push", "mid-write"),
]
FILL = {"mid-write": "after-preflight:fill", "journal": "after-staging:fill"}


@pytest.mark.parametrize(("action", "when"), CASES)
def test_full_disk_fails_staging_and_changes_nothing(
    sync: Sync, small_disk, request: pytest.FixtureRequest, action: str, when: str
):
    env = None
    if when in FILL:
        sync.require("fault-points")
        env = armed_env(FILL[when])
    receiving = small_disk(_receiving_root(sync, request, action), ROOMY)
    sync.synced_then_new_work(action)
    used = used_bytes(receiving)
    resize(receiving, used if when == "preflight" else used + HEADROOM)
    sync.record.add_evidence("tmpfs", {"side": action, "used": used, "when": when})
    before = sync.root_prints()

    failed = sync.pull(env=env) if action == "pull" else sync.push(env=env)

    after = sync.root_prints()
    assert sync.refused(failed, "staging"), failed.message
    assert sync.one_line_error(failed, "staging"), failed.stderr
    side = "local" if action == "pull" else "remote"
    assert sync.says(failed, f"{side} demo: {WORDS[when]}"), failed.message
    assert sync.says(failed, "free"), failed.message
    for name in ("local", "remote"):
        assert after[name].digest == before[name].digest, f"the {name} tree changed"
    assert not _stages(sync.local_root) and not _stages(sync.remote_root)

    resize(receiving, ROOMY)
    clean = sync.pull() if action == "pull" else sync.push()
    assert clean.ok, clean.message
    sync.assert_same_trees()
