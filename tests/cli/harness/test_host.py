"""`usr-harness host up | status | down`: a detached loopback host driven from the command line."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.cli_runs import run_harness as run
from usr_harness.hosts.processes import pid_alive
from usr_harness.sync.remote.near.profiles import load_profiles
from usr_harness.sync.remote.near.session import open_session

pytestmark = pytest.mark.ssh


def test_up_status_down(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    directory = str(tmp_path / "host")
    code, out, err = run(capsys, "host", "up", "--dir", directory, "--name", "lab")
    try:
        assert code == 0, err
        printed = yaml.safe_load(out)["remotes"]["lab"]
        saved = load_profiles(tmp_path / "host/remotes.yaml")["lab"]
        assert printed["port"] == saved.port and "USR_REMOTES_PATH=" in err
        with open_session(saved) as session:
            assert session.run(f"test -d {saved.base_dir}").exit_status == 0

        assert run(capsys, "host", "up", "--dir", directory, "--name", "lab")[1] == out
        code, out, _ = run(capsys, "host", "status", "--dir", directory)
        assert code == 0 and out.startswith("up: pid ")
        pid = int(out.split()[2].rstrip(","))
    finally:
        code, out, _ = run(capsys, "host", "down", "--dir", directory)
    assert code == 0 and "stopped" in out
    assert not pid_alive(pid)
    assert (tmp_path / "host/sshd.log").read_text()
    assert run(capsys, "host", "status", "--dir", directory)[:2] == (1, f"down ({directory})\n")
    assert "not running" in run(capsys, "host", "down", "--dir", directory)[1]


def test_down_without_a_host_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "host", "down", "--dir", str(tmp_path))
    assert code == 0 and "no loopback host recorded" in out
