"""Shared by tests of every way of reaching the agent: a `client: local` profile and the round trip."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from usr_harness.errors import LockError
from usr_harness.sync.remote.near.connect import connect_agent
from usr_harness.sync.remote.near.profiles import RemoteProfile


def local_profile(base_dir: Path, python: str = sys.executable) -> RemoteProfile:
    """A profile whose agent is a local child over pipes: the real protocol, no sshd."""
    return RemoteProfile(
        name="disk2",
        type="ssh",
        host="localhost",
        user="me",
        base_dir=str(base_dir),
        python=python,
        client="local",
    )


def assert_agent_round_trip(profile: RemoteProfile, base_dir: Path) -> None:
    """Two agents at once see one base_dir and one lock table; a lock dies with its channel."""
    (base_dir / "demo").mkdir()
    (base_dir / "demo" / "records.parquet").write_bytes(b"R" * 64)
    with connect_agent(profile) as first, connect_agent(profile) as second:
        assert first.hello["base_dir"] == str(base_dir.resolve())
        assert first.hello["pid"] != second.hello["pid"]
        manifest = first.request({"op": "manifest", "dataset": "demo"})
        assert [entry["path"] for entry in manifest["files"]] == ["records.parquet"]
        first.request({"op": "lock", "dataset": "demo", "exclusive": True, "timeout": 1})
        with pytest.raises(LockError):
            second.request({"op": "lock", "dataset": "demo", "exclusive": True, "timeout": 0.2})
    with connect_agent(profile) as third:
        assert third.request({"op": "lock", "dataset": "demo", "exclusive": True, "timeout": 1})["ok"]
