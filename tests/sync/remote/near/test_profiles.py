"""Remote profiles: strict YAML, no implicit default, clear ConfigErrors naming the file and the remote."""

from __future__ import annotations

from pathlib import Path

import pytest

from usr_harness.errors import ConfigError
from usr_harness.sync.remote.near.profiles import (
    RemoteProfile,
    get_profile,
    load_profiles,
    resolve_remotes_path,
)

GOOD = """\
remotes:
  hpc:
    type: ssh
    host: login.example.org
    user: alice
    base_dir: /scratch/alice/usr
    port: 2222
    identity_file: keys/id_ed25519
    known_hosts: ~/hpc_known_hosts
  lab:
    type: ssh
    host: 10.0.0.5
    user: bob
    base_dir: ~/usr
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "remotes.yaml"
    path.write_text(text)
    return path


def test_profiles_load_with_defaults_and_resolved_paths(tmp_path: Path) -> None:
    profiles = load_profiles(write(tmp_path, GOOD))
    hpc, lab = profiles["hpc"], profiles["lab"]
    assert hpc.port == 2222 and hpc.host_key_name == "[login.example.org]:2222"
    assert hpc.identity_file == str(tmp_path / "keys/id_ed25519")
    assert hpc.known_hosts_path() == Path.home() / "hpc_known_hosts"
    assert lab == RemoteProfile(name="lab", type="ssh", host="10.0.0.5", user="bob", base_dir="~/usr")
    assert lab.host_key_name == "10.0.0.5" and lab.python == "python3" and lab.batch_mode
    assert lab.known_hosts_path() == Path.home() / ".ssh/known_hosts"
    assert lab.key_path() is None
    assert lab.as_dict()["name"] == "lab"


def test_client_local_loads_like_the_ssh_clients(tmp_path: Path) -> None:
    text = "remotes:\n  disk2: {type: ssh, host: localhost, user: me, base_dir: /mnt/d2, client: local}\n"
    disk2 = load_profiles(write(tmp_path, text))["disk2"]
    assert disk2.client == "local" and disk2.base_dir == "/mnt/d2"


def test_path_comes_from_the_environment_when_not_given(tmp_path: Path, monkeypatch) -> None:
    path = write(tmp_path, GOOD)
    monkeypatch.setenv("USR_REMOTES_PATH", str(path))
    assert resolve_remotes_path(None) == path
    assert get_profile("lab", None).user == "bob"


def test_no_path_and_no_environment_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"--remotes-config.*USR_REMOTES_PATH"):
        load_profiles(None)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"remote profiles file .*nope\.yaml does not exist"):
        load_profiles(tmp_path / "nope.yaml")


def test_unknown_remote_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown remote 'cluster'.*known remotes: hpc, lab"):
        get_profile("cluster", write(tmp_path, GOOD))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("remotes: [unclosed", "invalid YAML"),
        ("remotes:\n  a: {type: ssh, host: h, user: u, base_dir: /x}\n  a: {}\n", "duplicate key 'a'"),
        ("remotes:\n  a: {type: ssh, host: h, base_dir: /x}\n", "missing required key.*user"),
        ("remotes:\n  a: {type: rsync, host: h, user: u, base_dir: /x}\n", "unsupported type 'rsync'"),
        ("remotes:\n  a: {type: ssh, host: h, user: u, base_dir: /x, prot: 22}\n", "unknown key.*prot"),
        ("remotes:\n  a: {type: ssh, host: h, user: u, base_dir: /x, port: 'x'}\n", "port must be"),
        ("remotes:\n  a: {type: ssh, host: h, user: u, base_dir: rel}\n", "base_dir must be absolute"),
        ("remotes:\n  a: {type: ssh, host: h, user: u, base_dir: /x, batch_mode: 1}\n", "batch_mode"),
        ("remotes:\n  a: {type: ssh, host: h, user: u, base_dir: /x, client: rsh}\n", "unsupported client"),
        ("remotes:\n  'a b': {type: ssh, host: h, user: u, base_dir: /x}\n", "names may use"),
        ("hosts: {}\n", "unknown top-level key"),
        ("- a\n", "expected a mapping"),
    ],
)
def test_invalid_files_are_config_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        load_profiles(write(tmp_path, text))
    assert "remotes.yaml" in caught.value.message


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (
            "remotes:\n  a: {type: ssh\n  b: [x\n",
            ":3:4: invalid YAML: expected ',' or '}', but got ':' (while parsing a flow mapping)",
        ),
        (
            "remotes:\n  a: {type: ssh, host: h, user: u, base_dir: /x}\n  a: {}\n",
            ":3:3: invalid YAML: duplicate key 'a'",
        ),
    ],
)
def test_a_yaml_error_is_one_line_file_line_column(tmp_path: Path, text: str, where: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_profiles(path)
    assert caught.value.message == f"{path}{where}"


def test_missing_identity_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"remote hpc: private key .*id_ed25519 \(identity_file\) does not"):
        get_profile("hpc", write(tmp_path, GOOD)).key_path()


def test_ssh_key_env_names_the_key_path(tmp_path: Path, monkeypatch) -> None:
    key = tmp_path / "key"
    key.write_text("k")
    profile = RemoteProfile("r", "ssh", "h", "u", "/x", ssh_key_env="HPC_KEY")
    with pytest.raises(ConfigError, match=r"\$HPC_KEY, which is not set"):
        profile.key_path()
    monkeypatch.setenv("HPC_KEY", str(key))
    assert profile.key_path() == key
    monkeypatch.setenv("HPC_KEY", str(tmp_path / "gone"))
    with pytest.raises(ConfigError, match=r"gone \(from \$HPC_KEY\) does not exist"):
        profile.key_path()


def test_identity_file_may_start_with_tilde(tmp_path: Path) -> None:
    (Path.home() / ".ssh").mkdir()
    (Path.home() / ".ssh/id_hpc").write_text("k")
    profile = RemoteProfile("r", "ssh", "h", "u", "/x", identity_file="~/.ssh/id_hpc")
    assert profile.key_path() == Path.home() / ".ssh/id_hpc"


def test_repo_roots_are_carried_for_file_mode(tmp_path: Path) -> None:
    text = GOOD + "    repo_root: /home/bob/repo\n    local_repo_root: checkout\n"
    lab = load_profiles(write(tmp_path, text))["lab"]
    assert lab.repo_root == "/home/bob/repo"
    assert lab.local_repo_root == str(tmp_path / "checkout")
    assert load_profiles(write(tmp_path, GOOD))["lab"].repo_root is None
    with pytest.raises(ConfigError, match="repo_root must be absolute"):
        load_profiles(write(tmp_path, GOOD + "    repo_root: repo\n"))


def test_world_readable_remotes_file_is_a_warning_not_an_error(tmp_path: Path, capsys) -> None:
    path = write(tmp_path, GOOD)
    path.chmod(0o644)
    assert set(load_profiles(path)) == {"hpc", "lab"}
    assert (
        f"WARNING: remote profiles file {path} is readable by every user (mode 0644)"
        in capsys.readouterr().err
    )
    path.chmod(0o600)
    load_profiles(path)
    assert capsys.readouterr().err == ""


def test_a_key_others_can_read_is_a_warning(tmp_path: Path, capsys) -> None:
    key = tmp_path / "id_ed25519"
    key.write_text("k")
    key.chmod(0o644)
    profile = RemoteProfile("r", "ssh", "h", "u", "/x", identity_file=str(key))
    assert profile.key_path() == key
    assert f"WARNING: private key {key} of remote r is accessible by other users (mode 0644)" in (
        capsys.readouterr().err
    )
    key.chmod(0o600)
    profile.key_path()
    assert capsys.readouterr().err == ""
