"""Tool versions for report headers: every package named, and a missing OpenSSH client said plainly."""

from __future__ import annotations

from pathlib import Path

import pytest

from usr_harness.report.versions import PACKAGES, openssh_version, tool_versions


def test_every_tool_is_named_with_a_version() -> None:
    found = tool_versions()
    assert list(found) == ["python", "openssh", *PACKAGES]
    assert found["usr-harness"] != "absent" and found["openssh"].startswith("OpenSSH")


def test_no_ssh_client_on_the_path_reads_absent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert openssh_version() == "absent"
