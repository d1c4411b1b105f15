"""`usr remotes doctor`'s checks, against the real agent started locally (`client: local`, no sshd)."""

from __future__ import annotations

from pathlib import Path

from tests.sync.remote.agent_checks import local_profile
from usr_harness.sync.remote.near.doctor import run_doctor


def test_a_local_profile_names_the_local_agent_not_an_ssh_login(tmp_path: Path) -> None:
    report = run_doctor(local_profile(tmp_path))
    names = [check.name for check in report.checks]
    assert report.ok, report.as_dict()
    assert names[:3] == ["local agent", "remote python", "base_dir"]
    assert "ssh auth" not in names


def test_a_missing_base_dir_fails_the_run_with_its_family(tmp_path: Path) -> None:
    report = run_doctor(local_profile(tmp_path / "absent"))
    assert not report.ok
    assert report.error is not None and report.error.family == "config"
    assert report.checks[-1].status == "fail"


def test_pyarrow_is_found_in_site_packages_though_the_agent_starts_without_site(tmp_path: Path) -> None:
    import pyarrow

    report = run_doctor(local_profile(tmp_path))
    pyarrow_check = next(check for check in report.checks if check.name == "pyarrow")
    assert (pyarrow_check.status, pyarrow_check.detail) == ("ok", f"pyarrow {pyarrow.__version__}")
