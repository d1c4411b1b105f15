"""The engine's hook point: a no-op until a hook is installed, loaded only from `USR_SYNC_HOOKS`."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator

import pytest

from usr_harness.sync import hooks


class Recorder:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str | None]] = []

    def at(self, name: str, folder: str | None) -> None:
        self.seen.append((name, folder))

    def remote_action(self, point: str) -> str | None:
        return "kill" if point == "mid-promotion" else None


@pytest.fixture(autouse=True)
def no_hook(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(hooks.HOOKS_ENV, raising=False)
    hooks.install(None)
    yield
    hooks.install(None)


@pytest.fixture
def hook_module(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    recorder = Recorder()
    module = types.ModuleType("usr_test_hook_module")
    module.recorder = recorder
    monkeypatch.setitem(sys.modules, module.__name__, module)
    return recorder


def test_an_unarmed_engine_passes_every_point_and_asks_the_agent_for_nothing():
    assert hooks.load_from_env() is None
    hooks.fault_point("before-staging")
    hooks.fault_point("after-preflight", "/nowhere")
    assert hooks.remote_fault("mid-promotion") == {}


def test_the_hook_named_by_the_variable_is_loaded_and_called(hook_module: Recorder, monkeypatch):
    monkeypatch.setenv(hooks.HOOKS_ENV, "usr_test_hook_module:recorder")
    assert hooks.load_from_env() is hook_module
    hooks.fault_point("before-staging")
    hooks.fault_point("after-preflight", "/stage")
    assert hook_module.seen == [("before-staging", None), ("after-preflight", "/stage")]
    assert hooks.remote_fault("mid-promotion") == {"fault": "kill"}
    assert hooks.remote_fault("after-preflight") == {}


def test_an_unset_variable_keeps_an_installed_hook(hook_module: Recorder):
    hooks.install(hook_module)
    assert hooks.load_from_env() is hook_module


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("no_colon_here", "expected module:attribute"),
        ("usr_no_such_module_anywhere:hook", "cannot import usr_no_such_module_anywhere"),
        ("usr_test_hook_module:missing", "has no attribute 'missing'"),
    ],
)
def test_a_bad_value_names_itself_and_what_is_wrong(hook_module, monkeypatch, value: str, message: str):
    monkeypatch.setenv(hooks.HOOKS_ENV, value)
    with pytest.raises(hooks.HookError, match=message) as refused:
        hooks.load_from_env()
    assert f"USR_SYNC_HOOKS={value!r}" in str(refused.value)
    hooks.fault_point("before-staging")
    assert hook_module.seen == []


def test_fire_raises_for_raise_and_for_a_fill_without_a_folder():
    with pytest.raises(hooks.FaultInjected, match=r"^fault point mid-transfer fired$"):
        hooks.fire("raise", None, "mid-transfer")
    with pytest.raises(hooks.FaultInjected, match=r"^fault point before-staging fired$"):
        hooks.fire("fill", None, "before-staging")
