"""`usr remotes wizard`: one profile written or updated, every other line of the file kept, mode 0600."""

from __future__ import annotations

import io
import stat
from pathlib import Path

from tests.cli_runs import run_usr as run
from usr_harness.hosts.loopback import LoopbackSshd
from usr_harness.sync.remote.near.profiles import load_profiles

ANNOTATED = """\
# Remotes for the lab. Ask Dana before changing hpc.
remotes:
  # the cluster; logins need a second factor
  hpc:
    type: ssh
    host: login.example.org   # the login node, not the data mover
    user: alice
    base_dir: /scratch/alice/usr
    port: 2222

  # the lab box
  lab: {type: ssh, host: 10.0.0.5, user: bob, base_dir: ~/usr}
# end of remotes
"""


def loopback_flags(host: LoopbackSshd, base_dir: Path) -> list[str]:
    return [
        "--host",
        host.host,
        "--user",
        host.user,
        "--base-dir",
        str(base_dir),
        "--port",
        str(host.port),
        "--identity-file",
        str(host.client_key_path),
        "--known-hosts",
        str(host.known_hosts_path),
        "--python",
        host.profile().python,
    ]


def test_wizard_twice_keeps_other_profiles_and_comments(
    loopback_host: LoopbackSshd, remote_base: Path, tmp_path: Path, capsys
) -> None:
    path = tmp_path / "remotes.yaml"
    path.write_text(ANNOTATED)
    path.chmod(0o644)
    others = {name: load_profiles(path)[name] for name in ("hpc", "lab")}
    wizard = ["remotes", "wizard", "loopback", "--file", str(path)]

    code, out, _ = run(capsys, *wizard, *loopback_flags(loopback_host, remote_base))
    assert code == 0 and out.startswith(f"added remote loopback in {path}")
    code, out, _ = run(capsys, *wizard, "--client", "openssh")
    assert code == 0 and out.startswith(f"updated remote loopback in {path}: client")

    text = path.read_text()
    assert text.startswith(ANNOTATED.split("  # the lab box")[0])
    for line in ANNOTATED.splitlines():
        if line.lstrip().startswith("#") or "# the login node" in line:
            assert line in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    profiles = load_profiles(path)
    assert {name: profiles[name] for name in ("hpc", "lab")} == others
    assert profiles["loopback"].client == "openssh" and profiles["loopback"].port == loopback_host.port
    code, out, _ = run(capsys, "--remotes-config", str(path), "remotes", "doctor", "loopback")
    assert code == 0 and "via openssh" in out


def test_wizard_updates_only_the_keys_given(tmp_path: Path, capsys) -> None:
    path = tmp_path / "remotes.yaml"
    path.write_text(ANNOTATED)
    code, _, _ = run(capsys, "--remotes-config", str(path), "remotes", "wizard", "hpc", "--port", "22")
    assert code == 0
    assert path.read_text() == ANNOTATED.replace("port: 2222", "port: 22")
    code, _, _ = run(capsys, "--remotes-config", str(path), "remotes", "wizard", "lab", "--python", "yes")
    lab = load_profiles(path)["lab"]
    assert code == 0 and (lab.host, lab.python) == ("10.0.0.5", "yes")
    assert "  # the lab box\n  lab:\n    type: ssh\n" in path.read_text()


def test_wizard_creates_an_owner_only_file_named_by_the_environment(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    path = tmp_path / "new" / "remotes.yaml"
    monkeypatch.setenv("USR_REMOTES_PATH", str(path))
    flags = ["--host", "h.example.org", "--user", "u", "--base-dir", "~/usr", "--known-hosts", "~/kh"]
    code, out, _ = run(capsys, "remotes", "wizard", "site", *flags)
    assert code == 0 and out.startswith("created remote site")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == (
        "remotes:\n  site:\n    type: ssh\n    host: h.example.org\n    user: u\n"
        "    base_dir: ~/usr\n    known_hosts: ~/kh\n"
    )


def test_file_flag_wins_and_a_file_must_be_chosen(tmp_path: Path, capsys) -> None:
    flags = ["--host", "h", "--user", "u", "--base-dir", "/x"]
    code, _, err = run(capsys, "remotes", "wizard", "site", *flags)
    assert code == 3 and "--file FILE, --remotes-config FILE or set USR_REMOTES_PATH" in err
    chosen, ignored = tmp_path / "chosen.yaml", tmp_path / "ignored.yaml"
    code, _, _ = run(
        capsys, "--remotes-config", str(ignored), "remotes", "wizard", "site", "--file", str(chosen), *flags
    )
    assert code == 0 and chosen.is_file() and not ignored.exists()


def test_without_a_terminal_missing_settings_are_usage_errors(tmp_path: Path, monkeypatch, capsys) -> None:
    path = tmp_path / "remotes.yaml"
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    code, _, err = run(capsys, "remotes", "wizard", "site", "--file", str(path), "--host", "h", "--user", "u")
    assert code == 2 and "--base-dir for new remote site is required" in err
    code, _, err = run(capsys, "remotes", "wizard", "--file", str(path))
    assert code == 2 and "Remote name is required" in err
    assert not path.exists()


def test_an_invalid_result_is_never_written(tmp_path: Path, capsys) -> None:
    path = tmp_path / "remotes.yaml"
    path.write_text(ANNOTATED)
    code, _, err = run(capsys, "remotes", "wizard", "hpc", "--file", str(path), "--base-dir", "relative/dir")
    assert code == 3 and "not written" in err and f"{path}: remote 'hpc': base_dir must be absolute" in err
    code, _, err = run(capsys, "remotes", "wizard", "hpc", "--file", str(path), "--client", "putty")
    assert code == 2 and "--client must be one of paramiko, openssh" in err
    assert path.read_text() == ANNOTATED
    assert sorted(item.name for item in tmp_path.iterdir()) == ["remotes.yaml"]


def test_wizard_takes_the_upstream_spelling_preset_batch_mode_and_repo_roots(tmp_path: Path, capsys) -> None:
    path = tmp_path / "remotes.yaml"
    upstream = ["remotes", "wizard", "--preset", "bu-scc", "--name", "bu-scc", "--user", "alice"]
    upstream += ["--base-dir", "/project/alice/usr_datasets", "--file", str(path)]
    extra = ["--no-batch-mode", "--repo-root", "/project/alice/repo", "--local-repo-root", "repo"]
    code, _, err = run(capsys, *upstream, *extra)
    assert code == 0, err
    profile = load_profiles(path)["bu-scc"]
    assert (profile.host, profile.user, profile.batch_mode) == ("scc1.bu.edu", "alice", False)
    assert profile.repo_root == "/project/alice/repo"
    assert profile.local_repo_root == str(Path("repo").absolute())
    code, _, _ = run(
        capsys,
        "remotes",
        "wizard",
        "--name",
        "bu-scc",
        "--preset",
        "bu-scc",
        "--transfer-node",
        "--batch-mode",
        "--file",
        str(path),
    )
    profile = load_profiles(path)["bu-scc"]
    assert code == 0 and (profile.host, profile.batch_mode) == ("scc-globus.bu.edu", True)


def test_wizard_refuses_an_unknown_preset_and_a_name_given_twice(tmp_path: Path, capsys) -> None:
    path = tmp_path / "remotes.yaml"
    path.write_text(ANNOTATED)
    code, _, err = run(capsys, "remotes", "wizard", "--name", "x", "--preset", "nowhere", "--file", str(path))
    assert code == 2 and err.startswith(
        "usr: error[usage]: unknown --preset 'nowhere'; known presets: bu-scc"
    )
    code, _, err = run(
        capsys, "remotes", "wizard", "hpc", "--name", "lab", "--port", "1", "--file", str(path)
    )
    assert code == 2 and "remote named twice" in err
    assert path.read_text() == ANNOTATED
