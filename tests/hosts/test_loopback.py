"""The loopback sshd: starts on a free port, accepts our key only, stops by its own pid, keeps its log."""

from __future__ import annotations

import os
import socket
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from usr_harness.errors import ConfigError
from usr_harness.hosts import loopback
from usr_harness.hosts.loopback import LoopbackSshd
from usr_harness.hosts.processes import pid_alive
from usr_harness.sync.remote.near.profiles import load_profiles
from usr_harness.sync.remote.near.session import open_session

pytestmark = pytest.mark.ssh


def test_start_serves_logins_and_stop_leaves_the_log(tmp_path: Path) -> None:
    with LoopbackSshd(tmp_path / "host") as host:
        pid = host.pid
        assert pid is not None and pid_alive(pid)
        assert stat.S_IMODE(host.workdir.stat().st_mode) == 0o700
        assert host.base_dir.is_dir()
        assert host.known_hosts_path.read_text().startswith(f"[127.0.0.1]:{host.port} ssh-ed25519 ")
        before = host.connection_count()
        with open_session(host.profile()) as session:
            result = session.run("echo $USER-ok")
        assert result.stdout.decode().strip().endswith("-ok")
        assert host.connection_count() == before + 1
    assert not pid_alive(pid)
    assert not host.running
    assert "Received signal 15; terminating." in host.log_path.read_text()


def test_a_login_finds_the_hosts_python_first_whatever_the_accounts_rc_files_say(tmp_path: Path) -> None:
    """An engine that runs the remote `python3` (upstream's parquet check does) must meet the host's
    Python with its pyarrow, not the account's `.bashrc` choice (on this machine, pyenv's shims)."""
    with LoopbackSshd(tmp_path / "host") as host, open_session(host.profile()) as session:
        result = session.run('echo "$PATH"; command -v python3; python3 -c "import pyarrow"')
    assert result.exit_status == 0, result.stderr
    path, python3 = result.stdout.decode().splitlines()
    assert path.split(":")[0] == str(Path(host.remote_python).parent)
    assert python3 == str(Path(host.remote_python).parent / "python3")


def test_stop_ends_what_a_login_left_running_after_its_session_ended(tmp_path: Path) -> None:
    """A remote command blocked for good (upstream's `wc -l < LOG` where the log is a fifo) outlives
    its client and its session: without this, every fifo drill left one behind for good."""
    with LoopbackSshd(tmp_path / "host") as host:
        fifo = host.base_dir / "events.fifo"
        os.mkfifo(fifo)
        with open_session(host.profile()) as session:
            session.run(f"nohup sh -c 'wc -l < {fifo}' >/dev/null 2>&1 &")
        time.sleep(0.5)
        blocked = [p for p in psutil.process_iter() if str(fifo) in " ".join(_cmdline(p))]
        assert blocked, "the reader should be waiting on the fifo"
    assert not [p for p in blocked if p.is_running()]


def _cmdline(process: psutil.Process) -> list[str]:
    try:
        return process.cmdline()
    except psutil.Error:
        return []


@pytest.fixture
def taken_port(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """A port another socket holds, handed to the first launch as if it were free."""
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        ports = iter([taken])
        real_free_port = loopback._free_port
        monkeypatch.setattr(loopback, "_free_port", lambda: next(ports, None) or real_free_port())
        yield taken


def test_lost_bind_race_retries_on_another_port(tmp_path: Path, taken_port: int) -> None:
    with LoopbackSshd(tmp_path / "host") as host:
        assert host.port != taken_port
        assert "Address already in use" in host.log_path.read_text()


def test_a_bind_failure_logged_before_the_wait_begins_is_still_a_lost_race(
    tmp_path: Path, taken_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """sshd can lose the race, log it and exit before the launcher looks at the log (CI saw it)."""
    real_launch = LoopbackSshd._launch

    def launch_then_let_it_fail(self: LoopbackSshd) -> int:
        offset = real_launch(self)
        if self.port == taken_port:
            assert self._process is not None
            self._process.wait(timeout=30)
        return offset

    monkeypatch.setattr(LoopbackSshd, "_launch", launch_then_let_it_fail)
    with LoopbackSshd(tmp_path / "host") as host:
        assert host.port != taken_port


def test_detached_host_is_found_again_and_stopped_by_its_pid(tmp_path: Path) -> None:
    started = LoopbackSshd(tmp_path / "host", detach=True).start()
    try:
        found = LoopbackSshd.attach(tmp_path / "host")
        assert found is not None and found.running
        assert (found.pid, found.port) == (started.pid, started.port)
        found.stop()
        assert not pid_alive(started.pid)
        assert not LoopbackSshd.attach(tmp_path / "host").running
    finally:
        started.stop()


def test_relative_sshd_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="absolute path"):
        LoopbackSshd(tmp_path / "host", sshd_binary="sshd").start()


def test_remotes_config_fixture_gives_each_test_its_own_base_dir(
    remotes_config: Path, remote_base: Path, loopback_host: LoopbackSshd
) -> None:
    text = remotes_config.read_text()
    assert f"base_dir: {remote_base}" in text
    assert remote_base.parent == loopback_host.base_dir
    assert f"port: {loopback_host.port}" in text


def test_written_profile_is_private_and_loads_without_a_warning(
    tmp_path: Path, loopback_host: LoopbackSshd, capsys: pytest.CaptureFixture[str]
) -> None:
    stale = tmp_path / "remotes.yaml"
    stale.write_text("remotes: {}\n")
    stale.chmod(0o644)
    path = loopback_host.write_remotes_yaml(stale, "loopback")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_profiles(path)["loopback"].port == loopback_host.port
    assert "readable by every user" not in capsys.readouterr().err
