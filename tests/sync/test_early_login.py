"""The login the front end starts before the engine loads: begun only when the engine would connect."""

from __future__ import annotations

import pytest

from tests.usr_sides import DATASET, Sides, make_dataset
from usr_harness.sync import engine
from usr_harness.sync.early_login import start_login
from usr_harness.sync.hooks import HOOKS_ENV
from usr_harness.sync.options import SyncOptions
from usr_harness.sync.remote.near import pending
from usr_harness.sync.request import SyncRequest

from .conftest import DISK_REMOTE


def request(sides: Sides, **changes) -> SyncRequest:
    fields = {
        "root": sides.local_root,
        "dataset": DATASET,
        "remote": DISK_REMOTE,
        "remotes_config": sides.remotes_config,
        "opts": SyncOptions(yes=True),
        "echo": lambda _line: None,
    }
    return SyncRequest(**{**fields, **changes})


@pytest.mark.parametrize(
    "changes",
    [
        {"dataset": "../escape"},
        {"remote": "no-such-profile"},
        {"opts": SyncOptions(lock_timeout=-1)},
    ],
)
def test_what_the_engine_refuses_before_connecting_starts_no_login(disk_sides: Sides, changes) -> None:
    assert start_login("pull", request(disk_sides, **changes)) is None


def test_a_fault_hook_leaves_the_login_to_the_engine(disk_sides: Sides, monkeypatch) -> None:
    monkeypatch.setenv(HOOKS_ENV, "tests.no_such_module:hook")
    assert start_login("pull", request(disk_sides)) is None


def test_the_engine_adopts_the_early_login_and_closes_it(disk_sides: Sides, monkeypatch) -> None:
    make_dataset(disk_sides.remote_root)
    wanted = request(disk_sides)
    login = start_login("pull", wanted)
    assert login is not None

    def no_second_login(_profile):
        raise AssertionError("the engine opened a second connection")

    monkeypatch.setattr(pending, "PendingAgent", no_second_login)
    audit = engine.run("pull", wanted, login=login)
    assert audit["data"]["transfer_state"] == "TRANSFERRED"
    agent = login.agent()
    assert agent.channel.process.poll() is not None  # closed with the command
