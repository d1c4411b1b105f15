"""`connect_agent` with `client: local`: the real agent bundle as a child over pipes, no sshd."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.sync.remote.agent_checks import assert_agent_round_trip, local_profile
from usr_harness.errors import ConfigError, TransportError
from usr_harness.sync.remote.near.bundle import BOOTSTRAP
from usr_harness.sync.remote.near.connect import connect_agent, local_argv
from usr_harness.sync.remote.near.pending import connect_agent_in_background


def test_the_child_runs_the_bootstrap_the_ssh_paths_run(tmp_path: Path) -> None:
    assert local_argv(local_profile(tmp_path, "/opt/py 3/bin/python")) == [
        "/opt/py 3/bin/python",
        "-S",
        "-u",
        "-c",
        BOOTSTRAP,
    ]


def test_hello_manifest_and_lock_round_trip(tmp_path: Path) -> None:
    assert_agent_round_trip(local_profile(tmp_path), tmp_path)


def test_connecting_in_background_hands_over_the_same_agent(tmp_path: Path) -> None:
    with connect_agent_in_background(local_profile(tmp_path)) as pending:
        assert pending.agent().hello["base_dir"] == str(tmp_path.resolve())


def test_a_python_that_cannot_run_is_a_transport_error(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-python"
    profile = local_profile(tmp_path, str(missing))
    with pytest.raises(TransportError, match=rf"remote disk2 .*cannot run {missing}"), connect_agent(profile):
        pass


def test_a_child_that_ends_before_hello_is_explained_by_its_stderr(tmp_path: Path) -> None:
    fake = tmp_path / "fake-python"
    fake.write_text("#!/bin/sh\necho 'warming up' >&2\necho 'python3.6: too old' >&2\nexit 3\n")
    fake.chmod(0o755)
    with pytest.raises(TransportError) as caught, connect_agent(local_profile(tmp_path, str(fake))):
        pass
    message = caught.value.message
    assert message.startswith("remote disk2 (me@localhost:22): ")
    assert "closed the channel" in message or "connection lost while sending" in message
    assert message.count("python3.6: too old") == 1


def test_a_missing_base_dir_is_the_agents_config_error(tmp_path: Path) -> None:
    with (
        pytest.raises(ConfigError, match="does not exist"),
        connect_agent(local_profile(tmp_path / "nowhere")),
    ):
        pass
