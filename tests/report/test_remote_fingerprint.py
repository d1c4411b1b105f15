"""A remote tree fingerprinted through the agent equals the local fingerprint of the same folder."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from usr_harness.hosts.loopback import LoopbackSshd
from usr_harness.mock.series import BatchSeries
from usr_harness.report.fingerprint import compare, fingerprint_tree
from usr_harness.report.remote_fingerprint import fingerprint_remote


@pytest.mark.parametrize("python", ["venv", "python3"], ids=["remote-blake3", "streamed"])
def test_remote_fingerprint_matches_local(loopback_host: LoopbackSshd, remote_base: Path, python: str):
    if python == "python3" and shutil.which("python3") is None:
        pytest.skip("no python3 on PATH")
    BatchSeries(5, records_per_round=20).run(remote_base, "demo", 3)
    dataset = remote_base / "demo"
    os.symlink("/etc/hostname", dataset / "_artifacts" / "link")
    os.mkfifo(dataset / "_artifacts" / "pipe")
    profile = loopback_host.profile(base_dir=remote_base)
    if python == "python3":
        profile = profile.__class__(**{**profile.as_dict(), "python": "python3"})
    remote = fingerprint_remote(profile, "demo")
    local = fingerprint_tree(dataset)
    assert compare(local, remote).is_empty
    assert remote.digest == local.digest
    (dataset / "meta.md").write_text("changed\n")
    assert compare(fingerprint_remote(profile, "demo"), local).paths == ("meta.md",)
