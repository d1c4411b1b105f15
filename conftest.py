"""Repository-level pytest configuration shared by `tests/` and `drills/`."""

from __future__ import annotations

import pytest

ISOLATED_VARIABLES = (
    "USR_REMOTES_PATH",
    "USR_ROOT",
    "USR_HARNESS_FAULT_POINT",
    "USR_SYNC_STRICT_BOOTSTRAP_ID",
    "USR_HARNESS_REPORT_PATH",
    "USR_HARNESS_RUN_SYNC_AUDIT_DRILL",
    "USR_HARNESS_SYNC_AUDIT_REPORT_PATH",
)


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No test sees the engine-steering variables of the caller, nor the machine's ~/.ssh."""
    for name in ISOLATED_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path_factory.mktemp("home")))
