"""`usr remotes list | show | trust` against the loopback host's profile."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import pytest
import yaml

from tests.cli_runs import Terminal as _Terminal
from tests.cli_runs import run_usr as run
from usr_harness.hosts.loopback import LoopbackSshd
from usr_harness.report.fingerprint import fingerprint_tree
from usr_harness.sync.remote.near.profiles import RemoteProfile
from usr_harness.sync.remote.near.session import open_session

pytestmark = pytest.mark.ssh


@pytest.fixture
def untrusted(loopback_host: LoopbackSshd, remote_base: Path, tmp_path: Path) -> tuple[Path, RemoteProfile]:
    """A config whose known_hosts does not exist yet: a laptop meeting the cluster for the first time."""
    profile = dataclasses.replace(
        loopback_host.profile(base_dir=remote_base), known_hosts=str(tmp_path / "ssh/known_hosts")
    )
    settings = {key: value for key, value in profile.as_dict().items() if key != "name"}
    config = tmp_path / "untrusted.yaml"
    config.write_text(yaml.safe_dump({"remotes": {"loopback": settings}}))
    return config, profile


def test_list_and_show(remotes_config: Path, loopback_host: LoopbackSshd, capsys) -> None:
    code, out, _ = run(capsys, "--remotes-config", str(remotes_config), "remotes", "list")
    assert code == 0
    assert out.split()[:2] == ["loopback", f"{loopback_host.user}@127.0.0.1:{loopback_host.port}"]
    code, out, _ = run(capsys, "--remotes-config", str(remotes_config), "remotes", "show", "loopback")
    assert code == 0
    assert f"port: {loopback_host.port}" in out
    assert f"host_key_name: [127.0.0.1]:{loopback_host.port}" in out


def test_profiles_come_from_the_environment(remotes_config: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("USR_REMOTES_PATH", str(remotes_config))
    assert run(capsys, "remotes", "list")[1].startswith("loopback ")


def test_config_errors_exit_with_the_config_code(remotes_config: Path, capsys) -> None:
    code, _, err = run(capsys, "remotes", "list")
    assert code == 3 and "error[config]" in err and "USR_REMOTES_PATH" in err
    code, _, err = run(capsys, "--remotes-config", str(remotes_config), "remotes", "show", "nope")
    assert code == 3 and "unknown remote 'nope'" in err and "known remotes: loopback" in err


def test_trust_refuses_without_confirmation(untrusted, monkeypatch, capsys) -> None:
    config, profile = untrusted
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    code, out, err = run(capsys, "--remotes-config", str(config), "remotes", "trust", "loopback")
    assert code == 2 and "re-run with --yes" in err
    assert f"host key for [127.0.0.1]:{profile.port}: ssh-ed25519 SHA256:" in out
    assert not profile.known_hosts_path().exists()


def test_trust_with_yes_records_the_key(untrusted, capsys) -> None:
    config, profile = untrusted
    code, out, _ = run(capsys, "--remotes-config", str(config), "remotes", "trust", "loopback", "--yes")
    assert code == 0 and "recorded" in out
    with open_session(profile) as session:
        assert session.run("true").exit_status == 0
    code, out, _ = run(capsys, "--remotes-config", str(config), "remotes", "trust", "loopback")
    assert code == 0 and "already trusted" in out


@pytest.mark.parametrize(("answer", "code"), [("y\n", 0), ("n\n", 1)])
def test_trust_asks_at_a_terminal(untrusted, monkeypatch, capsys, answer: str, code: int) -> None:
    config, profile = untrusted
    monkeypatch.setattr("sys.stdin", _Terminal(answer))
    assert run(capsys, "--remotes-config", str(config), "remotes", "trust", "loopback")[0] == code
    assert profile.known_hosts_path().exists() == (code == 0)


@pytest.mark.parametrize("spelling", [["loopback"], ["--remote", "loopback"]], ids=["positional", "option"])
def test_doctor_takes_the_remote_either_way(remotes_config: Path, capsys, spelling: list[str]) -> None:
    code, out, _ = run(capsys, "--remotes-config", str(remotes_config), "remotes", "doctor", *spelling)
    assert code == 0 and "[  ok] fcntl locking" in out


def test_status_takes_the_remote_as_an_option(remotes_config: Path, capsys) -> None:
    code, out, _ = run(
        capsys, "--remotes-config", str(remotes_config), "remotes", "status", "--remote", "loopback"
    )
    assert code == 1 and "master: not live" in out


@pytest.mark.parametrize(
    ("spelling", "says"),
    [([], "which remote?"), (["loopback", "--remote", "other"], "remote named twice")],
    ids=["none", "two"],
)
def test_a_remote_named_never_or_twice_is_a_usage_error(
    remotes_config: Path, remote_base: Path, capsys, spelling: list[str], says: str
) -> None:
    before = fingerprint_tree(remotes_config.parent), fingerprint_tree(remote_base)
    for command in ("doctor", "status", "warm-auth"):
        code, _, err = run(capsys, "--remotes-config", str(remotes_config), "remotes", command, *spelling)
        assert code == 2 and f"usr: error[usage]: {says}" in err
    assert (fingerprint_tree(remotes_config.parent), fingerprint_tree(remote_base)) == before


def test_doctor_with_a_missing_base_dir_hints_the_command_that_creates_it(
    loopback_host: LoopbackSshd, tmp_path: Path, capsys
) -> None:
    missing = tmp_path / "not-yet" / "datasets"
    config = loopback_host.write_remotes_yaml(tmp_path / "missing.yaml", "loopback", base_dir=missing)
    before = fingerprint_tree(tmp_path), fingerprint_tree(loopback_host.base_dir)
    code, out, err = run(capsys, "--remotes-config", str(config), "remotes", "doctor", "--remote", "loopback")
    assert code == 3 and "[fail]" in out
    assert f"hint: create the remote datasets root, then re-run doctor: ssh -p {loopback_host.port}" in err
    assert f"mkdir -p {missing}" in err
    assert (fingerprint_tree(tmp_path), fingerprint_tree(loopback_host.base_dir)) == before
