"""A request asked ahead: its answer goes to the very same request, or is dropped; never read out of turn.

Against the real agent started locally (`client: local`): the protocol as the ssh paths speak it.
"""

from __future__ import annotations

from pathlib import Path

from tests.sync.remote.agent_checks import local_profile
from usr_harness.sync.remote.near.connect import connect_agent
from usr_harness.sync.remote.near.pending import PendingAgent

MANIFEST = {"op": "manifest", "dataset": "demo"}


def demo(base_dir: Path) -> Path:
    (base_dir / "demo").mkdir()
    (base_dir / "demo" / "records.parquet").write_bytes(b"R" * 64)
    return base_dir


def paths(answer: dict) -> list[str]:
    return [entry["path"] for entry in answer["files"]]


def test_the_same_request_takes_the_answer_asked_ahead_without_another_round_trip(tmp_path: Path) -> None:
    with connect_agent(local_profile(demo(tmp_path))) as agent:
        before = agent.stats.requests
        agent.ask_ahead(MANIFEST)
        assert paths(agent.request(dict(MANIFEST))) == ["records.parquet"]
        assert agent.stats.requests == before + 1
        assert agent.stats.asked_ahead == {"used": 1, "dropped": 0}


def test_another_request_drops_the_answer_asked_ahead_and_gets_its_own(tmp_path: Path) -> None:
    with connect_agent(local_profile(demo(tmp_path))) as agent:
        agent.ask_ahead({**MANIFEST, "events_prefix": 7})
        (tmp_path / "demo" / "meta.md").write_text("changed after the answer asked ahead\n")
        assert paths(agent.request(MANIFEST)) == ["meta.md", "records.parquet"]
        hashes = agent.request({"op": "hashes", "dataset": "demo", "paths": ["records.parquet"]})
        assert set(hashes["sha256"]) == {"records.parquet"}
        assert agent.stats.asked_ahead == {"used": 0, "dropped": 1}


def test_an_answer_no_one_asked_for_leaves_the_channel_to_close_cleanly(tmp_path: Path) -> None:
    with connect_agent(local_profile(demo(tmp_path))) as agent:
        agent.ask_ahead(MANIFEST)
    assert agent.channel.process.wait(timeout=10) == 0


def test_a_pending_login_sends_what_was_asked_ahead_once_the_agent_is_up(tmp_path: Path) -> None:
    pending = PendingAgent(local_profile(demo(tmp_path)))
    try:
        pending.ask_ahead(MANIFEST)  # most likely before the agent's hello: the login thread sends it
        agent = pending.agent()
        assert paths(agent.request(MANIFEST)) == ["records.parquet"]
        assert agent.stats.asked_ahead == {"used": 1, "dropped": 0}
        pending.ask_ahead(MANIFEST)  # after: sent at once
        assert paths(agent.request(MANIFEST)) == ["records.parquet"]
        assert agent.stats.asked_ahead == {"used": 2, "dropped": 0}
    finally:
        pending.close()
