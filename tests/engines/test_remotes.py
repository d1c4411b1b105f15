"""A remote as data, written the way each engine reads it, inside the drill's own folder only."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

from usr_harness.engines import RemoteSpec, wire_remote
from usr_harness.engines import remotes as remotes_module
from usr_harness.engines.remotes import release_wiring
from usr_harness.errors import ConfigError
from usr_harness.hosts.loopback import LoopbackSshd
from usr_harness.hosts.processes import processes_naming


@pytest.fixture
def spec(tmp_path: Path) -> RemoteSpec:
    return RemoteSpec(
        name="hpc",
        host="127.0.0.1",
        port=2222,
        user="alice",
        base_dir=tmp_path / "remote",
        identity_file=tmp_path / "id_ed25519",
        known_hosts=tmp_path / "known_hosts",
        python="/usr/bin/python3",
    )


def test_harness_style_is_one_remotes_yaml_with_port_and_keys(spec: RemoteSpec, tmp_path: Path) -> None:
    wiring = wire_remote(spec, "usr-harness", tmp_path / "w")
    entry = yaml.safe_load(wiring.remotes_config.read_text())["remotes"]["hpc"]
    assert entry["port"] == 2222 and entry["identity_file"] == str(spec.identity_file)
    assert entry["python"] == "/usr/bin/python3"
    assert wiring.env == {}
    assert stat.S_IMODE(wiring.remotes_config.stat().st_mode) == 0o600


def test_alias_style_writes_a_strict_host_block_and_a_home_of_its_own(
    spec: RemoteSpec, tmp_path: Path
) -> None:
    wiring = wire_remote(spec, "ssh-alias", tmp_path / "w")
    entry = yaml.safe_load(wiring.remotes_config.read_text())["remotes"]["hpc"]
    assert entry == {"type": "ssh", "host": "usr-drill-hpc", "user": "alice", "base_dir": str(spec.base_dir)}
    home = Path(wiring.env["HOME"])
    assert home.is_relative_to(tmp_path / "w")
    config = (home / ".ssh" / "config").read_text()
    for line in ("Port 2222", "IdentitiesOnly yes", "StrictHostKeyChecking yes", "BatchMode yes"):
        assert line in config
    assert f"UserKnownHostsFile {spec.known_hosts}" in config
    passwd = Path(wiring.env["NSS_WRAPPER_PASSWD"]).read_text().split(":")
    assert passwd[2] == str(os.getuid()) and passwd[5] == str(home)


def test_openssh_reads_the_alias_from_the_wrapped_home(spec: RemoteSpec, tmp_path: Path) -> None:
    """`ssh -G` prints the configuration OpenSSH would use: the drill's Host block, not the user's."""
    wiring = wire_remote(spec, "ssh-alias", tmp_path / "w")
    done = subprocess.run(
        ["ssh", "-G", spec.alias],
        env={**os.environ, **wiring.env},
        capture_output=True,
        text=True,
        check=True,
    )
    settings = dict(line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)
    assert settings["hostname"] == "127.0.0.1" and settings["port"] == "2222"
    assert settings["identitiesonly"] == "yes"
    assert settings["controlmaster"] == "auto" and settings["controlpath"] == str(wiring.control_path)
    assert len(str(wiring.control_path)) < 100, "a unix socket path holds 108 bytes"
    release_wiring(wiring)


def test_each_wiring_has_a_master_of_its_own(spec: RemoteSpec, tmp_path: Path) -> None:
    """A drill never reaches the server through another command's login (host key checks included)."""
    first = wire_remote(spec, "ssh-alias", tmp_path / "a")
    second = wire_remote(spec, "ssh-alias", tmp_path / "b")
    assert first.control_path != second.control_path
    for wiring in (first, second):
        release_wiring(wiring)
        assert not wiring.control_path.parent.exists()


def test_the_shared_connection_is_stopped_when_the_command_is_released(
    loopback_host: LoopbackSshd, tmp_path: Path
) -> None:
    """Two ssh calls share one login; after release no master is left and a new call logs in afresh."""
    spec = loopback_host.remote_spec(base_dir=tmp_path)
    wiring = wire_remote(spec, "ssh-alias", tmp_path / "w")
    env = {**os.environ, **wiring.env}
    for _ in range(2):
        subprocess.run(["ssh", spec.alias, "true"], env=env, check=True, timeout=30)
    check = ["ssh", "-S", str(wiring.control_path), "-O", "check", "master"]
    assert subprocess.run(check, capture_output=True, timeout=30).returncode == 0
    release_wiring(wiring)
    assert subprocess.run(check, capture_output=True, timeout=30).returncode != 0
    assert not wiring.control_path.parent.exists()


def test_alias_style_without_nss_wrapper_is_a_named_config_error(
    spec: RemoteSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(remotes_module.ctypes.util, "find_library", lambda name: None)
    with pytest.raises(ConfigError, match="libnss-wrapper"):
        wire_remote(spec, "ssh-alias", tmp_path / "w")
    assert not (tmp_path / "w" / "home").exists()


def test_an_unknown_style_is_a_config_error(spec: RemoteSpec, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown remote style"):
        wire_remote(spec, "carrier-pigeon", tmp_path / "w")


def test_a_master_whose_socket_is_gone_is_still_stopped(loopback_host: LoopbackSshd, tmp_path: Path) -> None:
    """`-O exit` cannot reach a master without its socket; left alone it would keep its login open
    for ControlPersist's ten minutes (the peer lane left eight such behind)."""
    spec = loopback_host.remote_spec(base_dir=tmp_path)
    wiring = wire_remote(spec, "ssh-alias", tmp_path / "w")
    subprocess.run(["ssh", spec.alias, "true"], env={**os.environ, **wiring.env}, check=True, timeout=30)
    assert processes_naming(str(wiring.control_path)), "the call should have left its master running"
    wiring.control_path.unlink()
    release_wiring(wiring)
    assert processes_naming(str(wiring.control_path)) == []
