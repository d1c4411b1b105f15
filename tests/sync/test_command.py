"""The gate and the audit publishing both modes share (pure but for the audit JSON they write)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from usr_harness.errors import ConfigError, StagingError, UsageError
from usr_harness.sync import hooks
from usr_harness.sync.command import gate, load_hooks, publish, publish_failure
from usr_harness.sync.options import SyncOptions

AUDIT = {
    "usr_output_version": 1,
    "data": {
        "action": "push",
        "transfer_state": "TRANSFERRED",
        "dataset": "demo",
        "remote": "hpc",
        "verify": {"primary": "hash", "sidecars": "strict", "content_hashes": "on"},
        "up_to_date": False,
    },
}


def unasked() -> str:
    raise AssertionError("no prompt was expected")


def test_dry_run_ends_before_any_prompt_and_yes_goes_on_without_one():
    assert gate(SyncOptions(dry_run=True), None, "push of demo", unasked) == "DRY-RUN"
    assert gate(SyncOptions(dry_run=True, yes=True), None, "push of demo", unasked) == "DRY-RUN"
    assert gate(SyncOptions(yes=True), None, "push of demo", unasked) is None


def test_without_a_terminal_the_gate_asks_for_yes():
    with pytest.raises(
        UsageError, match=r"^push of demo needs confirmation: pass -y \(no terminal to ask on\)$"
    ):
        gate(SyncOptions(), None, "push of demo", unasked)


@pytest.mark.parametrize("answer", [True, False])
def test_the_prompt_shows_the_question_and_a_no_changes_nothing(answer: bool):
    asked: list[str] = []

    def confirm(question: str) -> bool:
        asked.append(question)
        return answer

    if answer:
        assert gate(SyncOptions(), confirm, "pull of f", lambda: "summary\npull f?") is None
    else:
        with pytest.raises(UsageError, match=r"^pull of f declined; nothing changed$"):
            gate(SyncOptions(), confirm, "pull of f", lambda: "summary\npull f?")
    assert asked == ["summary\npull f?"]


def test_publish_prints_the_block_then_writes_the_json(tmp_path: Path):
    printed: list[str] = []
    path = tmp_path / "out" / "audit.json"
    assert publish(AUDIT, printed.append, path, "local demo") is AUDIT
    assert printed[0].startswith("USR sync audit: push demo <-> hpc")
    assert json.loads(path.read_text()) == AUDIT


def test_publish_without_a_path_only_prints():
    printed: list[str] = []
    publish(AUDIT, printed.append, None, "local demo")
    assert len(printed) == 1


def test_an_unwritable_json_is_staging_naming_how_the_command_ended(tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    printed: list[str] = []
    with pytest.raises(StagingError) as raised:
        publish(AUDIT, printed.append, blocker / "audit.json", "local demo", "demo")
    error = raised.value
    assert error.message.startswith("local demo: cannot write the audit JSON ")
    assert error.message.endswith("; the push itself ended TRANSFERRED")
    assert (error.dataset, error.side, error.paths) == ("demo", "local", [str(blocker / "audit.json")])
    assert len(printed) == 1


def test_a_failed_command_whose_json_cannot_be_written_warns_beside_its_error(tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    printed: list[str] = []
    publish_failure(AUDIT, printed.append, blocker / "audit.json", "local f")
    assert printed[1].startswith("WARNING: local f: cannot write the audit JSON ")


def test_a_hook_that_cannot_load_is_a_config_error_before_anything_moves(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(hooks.HOOKS_ENV, "usr_no_such_hook_module:hook")
    with pytest.raises(ConfigError, match="usr_no_such_hook_module"):
        load_hooks()
