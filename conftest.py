"""Repository-level pytest configuration shared by `tests/` and `drills/`."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(
    "thorough", max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
"""`dev` for every run (CI included); `HYPOTHESIS_PROFILE=thorough` for a deeper search. A test that
needs its own count says so with `@settings(max_examples=N)`."""

ISOLATED_PREFIX = "USR_"
"""Every variable that steers the engine or the harness (`USR_*`, `USR_HARNESS_*`)."""
ISOLATED_VARIABLES = ("DNADESIGN_REPO_ROOT",)
XDG_FOLDERS = {"XDG_STATE_HOME": "state", "XDG_CONFIG_HOME": "config", "XDG_CACHE_HOME": "cache"}


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No test sees the caller's engine-steering variables, ~/.ssh, or XDG folders (file bases live there)."""
    for name in list(os.environ):
        if name.startswith(ISOLATED_PREFIX) or name in ISOLATED_VARIABLES:
            monkeypatch.delenv(name)
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    for name, folder in XDG_FOLDERS.items():
        monkeypatch.setenv(name, str(home / folder))


ON_DEMAND = {
    "whole_cycle": "runs a whole fresh `usr-harness cycle` and replays its report (about 12 minutes on 2 "
    "cores): deselected unless `-m` names it; `.ci/run` runs it after the README test command",
}
"""Markers of tests too long for `scripts/test.sh` (the README test command stays under 15 minutes)."""


def pytest_configure(config: pytest.Config) -> None:
    for name, text in ON_DEMAND.items():
        config.addinivalue_line("markers", f"{name}: {text}")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """An on-demand test runs only when the `-m` expression names its marker; else it is deselected
    (and counted as deselected), whatever paths or `-k` picked it."""
    asked = config.option.markexpr or ""
    off = [name for name in ON_DEMAND if name not in asked]
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        (dropped if any(item.get_closest_marker(name) for name in off) else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
