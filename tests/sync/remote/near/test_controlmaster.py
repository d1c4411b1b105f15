"""`usr remotes status | warm-auth` against a real ControlMaster on the loopback sshd, and doctor's hint.

The master is opened exactly as an operator would: `warm-auth` on a pseudo-terminal.
Every test that may leave a master behind stops it with `ssh -O exit`.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import pty
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.cli_runs import Terminal as _Terminal
from tests.cli_runs import run_usr as run
from usr_harness.hosts.loopback import LoopbackSshd
from usr_harness.sync.remote.near.connect import connect_agent, openssh_options
from usr_harness.sync.remote.near.controlmaster import master_status
from usr_harness.sync.remote.near.profiles import RemoteProfile

pytestmark = pytest.mark.ssh


def write_remotes(path: Path, profile: RemoteProfile) -> Path:
    settings = {key: value for key, value in profile.as_dict().items() if key != "name" and value is not None}
    path.write_text(yaml.safe_dump({"remotes": {profile.name: settings}}, sort_keys=False))
    path.chmod(0o600)
    return path


def run_on_terminal(argv: list[str], timeout: float = 30.0) -> tuple[int, str]:
    """Run `argv` on a fresh pseudo-terminal (stdin, stdout, stderr) in its own session; return its output."""
    master, slave = pty.openpty()
    process = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    output = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    block = os.read(master, 4096)
                except OSError:
                    break
                if not block:
                    break
                output += block
            elif process.poll() is not None:
                break
        code = process.wait(timeout=max(deadline - time.monotonic(), 1))
    finally:
        os.close(master)
    return code, output.decode(errors="replace").replace("\r", "")


@pytest.fixture
def openssh_profile(loopback_host: LoopbackSshd, remote_base: Path) -> RemoteProfile:
    return dataclasses.replace(loopback_host.profile(base_dir=remote_base), client="openssh")


@pytest.fixture
def remotes_file(openssh_profile: RemoteProfile, tmp_path: Path) -> Path:
    return write_remotes(tmp_path / "remotes.yaml", openssh_profile)


@pytest.fixture
def control_config(openssh_profile: RemoteProfile) -> Iterator[Path]:
    """~/.ssh/config with a ControlPath for the loopback host in a short /tmp folder (< 104 bytes)."""
    sockets = Path(tempfile.mkdtemp(prefix="usrcm-", dir="/tmp"))
    config = Path.home() / ".ssh" / "config"
    config.parent.mkdir(mode=0o700, exist_ok=True)
    settings = ["ControlMaster auto", f"ControlPath {sockets}/%C", "ControlPersist 60"]
    config.write_text(f"Host {openssh_profile.host}\n" + "".join(f"  {line}\n" for line in settings))
    yield sockets
    subprocess.run(
        [*openssh_options(openssh_profile), "-O", "exit", openssh_profile.host],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        check=False,
    )
    shutil.rmtree(sockets, ignore_errors=True)


def test_status_without_a_control_path(remotes_file: Path, capsys) -> None:
    code, out, _ = run(
        capsys, "--remotes-config", str(remotes_file), "remotes", "status", "loopback", "--json"
    )
    status = json.loads(out)
    assert code == 1
    assert (status["configured"], status["live"], status["control_path"]) == (False, False, None)
    assert status["detail"] == "no ControlPath configured for this host"


def test_status_configured_but_no_master(remotes_file: Path, control_config: Path, capsys) -> None:
    code, out, _ = run(capsys, "--remotes-config", str(remotes_file), "remotes", "status", "loopback")
    assert code == 1
    assert "control master: auto" in out and "control persist: 60" in out
    assert f"control path: {control_config}/" in out
    assert "master: not live (Control socket connect(" in out


def test_warm_auth_opens_a_master_that_the_agent_then_rides(
    remotes_file: Path,
    control_config: Path,
    openssh_profile: RemoteProfile,
    loopback_host: LoopbackSshd,
    capsys,
) -> None:
    argv = [sys.executable, "-m", "usr_harness.cli.usr", "--remotes-config", str(remotes_file)]
    code, out = run_on_terminal([*argv, "remotes", "warm-auth", "loopback", "--persist", "60"])
    assert code == 0, out
    assert "master for " in out and ": live (Master running (pid=" in out
    code, out, _ = run(
        capsys, "--remotes-config", str(remotes_file), "remotes", "status", "loopback", "--json"
    )
    status = json.loads(out)
    assert code == 0 and status["live"] and status["control_path"].startswith(f"{control_config}/")
    assert Path(status["control_path"]).is_socket()
    before = loopback_host.connection_count()
    with connect_agent(openssh_profile) as agent:
        assert agent.request({"op": "doctor"})["locking"]
    assert loopback_host.connection_count() == before
    code, out = run_on_terminal([*argv, "remotes", "warm-auth", "loopback"])
    assert code == 0 and ": live (Master running" in out
    assert loopback_host.connection_count() == before


def test_warm_auth_refuses_without_a_terminal(
    remotes_file: Path, control_config: Path, openssh_profile: RemoteProfile, monkeypatch, capsys
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    code, _, err = run(capsys, "--remotes-config", str(remotes_file), "remotes", "warm-auth", "loopback")
    assert code == 2 and "needs a terminal" in err
    assert not master_status(openssh_profile).live


def test_warm_auth_refuses_without_a_control_path(remotes_file: Path, monkeypatch, capsys) -> None:
    monkeypatch.setattr("sys.stdin", _Terminal(""))
    code, _, err = run(capsys, "--remotes-config", str(remotes_file), "remotes", "warm-auth", "loopback")
    assert code == 2 and "no ControlPath is configured" in err and "docs/keys.md" in err


@pytest.fixture
def keyboard_interactive_host(loopback_host: LoopbackSshd, tmp_path: Path) -> Iterator[int]:
    """A second sshd with the loopback host's keys that offers only keyboard-interactive: a 2FA login node."""
    for _ in range(5):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        lines = [
            line
            for line in loopback_host.config_path.read_text().splitlines()
            if not line.startswith(("Port ", "PidFile ", "KbdInteractiveAuthentication "))
        ]
        lines += [
            f"Port {port}",
            f"PidFile {tmp_path / 'kbd.pid'}",
            "KbdInteractiveAuthentication yes",
            "AuthenticationMethods keyboard-interactive",
        ]
        config = tmp_path / "kbd_sshd_config"
        config.write_text("\n".join(lines) + "\n")
        subprocess.run(["/usr/sbin/sshd", "-t", "-f", str(config)], check=True, capture_output=True)
        server = subprocess.Popen(
            ["/usr/sbin/sshd", "-D", "-f", str(config), "-E", str(tmp_path / "kbd.log")],
            stdin=subprocess.DEVNULL,
        )
        if _accepts(port, server):
            break
        server.wait()
    else:
        pytest.fail("the keyboard-interactive sshd did not start")
    try:
        yield port
    finally:
        server.terminate()
        server.wait(timeout=5)


def _accepts(port: int, server: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and server.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


@pytest.mark.parametrize("client", ["paramiko", "openssh"])
def test_doctor_hints_warm_auth_when_the_server_wants_a_second_factor(
    client: str, keyboard_interactive_host: int, loopback_host: LoopbackSshd, tmp_path: Path, capsys
) -> None:
    port = keyboard_interactive_host
    host_key = loopback_host.known_hosts_path.read_text().split()[1:3]
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{port} {host_key[0]} {host_key[1]}\n")
    profile = dataclasses.replace(
        loopback_host.profile(), port=port, client=client, known_hosts=str(known_hosts)
    )
    remotes = write_remotes(tmp_path / "kbd.yaml", profile)
    code, _, err = run(capsys, "--remotes-config", str(remotes), "remotes", "doctor", "loopback")
    assert code == 4 and "keyboard-interactive" in err
    assert "hint: the server asks for keyboard-interactive" in err and "usr remotes warm-auth loopback" in err
    assert ("set `client: openssh`" in err) == (client == "paramiko")
