"""The real agent program behind a local pipe: protocol, locks, staging, promotion, refusals.

It runs under `python -I`, so these tests also prove the bundle is self-contained.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from pathlib import Path

import pytest

from usr_harness.dataset.layout import is_runtime
from usr_harness.errors import (
    ConfigError,
    DivergedError,
    EventsError,
    LockError,
    StagingError,
    UsageError,
    VerifyError,
)
from usr_harness.sync.inventory.hash_cache import RACY_NS
from usr_harness.sync.remote.far.pipes import PIPE_BYTES
from usr_harness.sync.remote.near.bundle import BOOTSTRAP
from usr_harness.sync.remote.near.client import AgentClient
from usr_harness.sync.remote.near.process_channel import ProcessChannel


@pytest.fixture
def base(tmp_path: Path) -> Path:
    folder = tmp_path / "base"
    (folder / "demo" / "_derived" / "ns").mkdir(parents=True)
    (folder / "demo" / "records.parquet").write_bytes(b"R" * 100)
    (folder / "demo" / "_derived" / "ns" / "part-1.parquet").write_bytes(b"P1")
    (folder / "demo" / ".events.log").write_bytes(b'{"a":1}\n')
    (folder / "demo" / ".usr.lock").write_bytes(b"")
    return folder


def start(base: Path) -> AgentClient:
    return AgentClient.start(
        ProcessChannel([sys.executable, "-I", "-u", "-c", BOOTSTRAP]), str(base), "test agent"
    )


def test_hello_and_manifest(base: Path):
    agent = start(base)
    try:
        assert agent.hello["version"] == 1
        reply = agent.request({"op": "manifest", "dataset": "demo", "events_prefix": 3})
        paths = {f["path"]: f for f in reply["files"]}
        assert set(paths) == {"records.parquet", "_derived/ns/part-1.parquet", ".events.log"}
        assert paths["records.parquet"]["sha256"] == hashlib.sha256(b"R" * 100).hexdigest()
        assert reply["events"]["lines"] == 1 and reply["events"]["prefix_len"] == 3
    finally:
        agent.close()


def test_the_agent_widens_the_pipes_sshd_gives_it(base: Path):
    fcntl = pytest.importorskip("fcntl")
    if not hasattr(fcntl, "F_GETPIPE_SZ"):
        pytest.skip("pipe sizes are a Linux feature")
    channel = ProcessChannel([sys.executable, "-I", "-u", "-c", BOOTSTRAP])
    ends = (channel.process.stdin.fileno(), channel.process.stdout.fileno())
    for end in ends:
        fcntl.fcntl(end, fcntl.F_SETPIPE_SZ, 1 << 16)
    agent = AgentClient.start(channel, str(base), "test agent")
    try:
        assert [fcntl.fcntl(end, fcntl.F_GETPIPE_SZ) for end in ends] == [PIPE_BYTES, PIPE_BYTES]
    finally:
        agent.close()


def test_unsafe_dataset_ids_are_refused(base: Path):
    agent = start(base)
    try:
        for bad in ("../etc", "a;b", "x/y/z", "/abs"):
            with pytest.raises(UsageError):
                agent.request({"op": "manifest", "dataset": bad})
    finally:
        agent.close()


def test_missing_base_dir_is_config_error(tmp_path: Path):
    with pytest.raises(ConfigError, match="does not exist"):
        start(tmp_path / "nowhere")


def test_lock_contention_names_holder_and_dropped_agent_frees_it(base: Path):
    first, second = start(base), start(base)
    try:
        first.request({"op": "lock", "dataset": "demo", "exclusive": True, "timeout": 1})
        with pytest.raises(LockError, match="pid="):
            second.request({"op": "lock", "dataset": "demo", "exclusive": True, "timeout": 0.2})
        first.channel.process.kill()
        first.channel.process.wait()
        second.request({"op": "lock", "dataset": "demo", "exclusive": True, "timeout": 2})
    finally:
        second.close()


def _push(agent: AgentClient, base: Path, tmp_path: Path, *, expect: dict, events: bytes | None = None):
    agent.request({"op": "lock", "dataset": "demo", "exclusive": True, "timeout": 1})
    agent.request({"op": "stage", "dataset": "demo"})
    new_part = tmp_path / "part-2.parquet"
    new_part.write_bytes(b"P2")
    files = [("_derived/ns/part-2.parquet", new_part)]
    install = [{"path": "_derived/ns/part-2.parquet", "sha256": hashlib.sha256(b"P2").hexdigest()}]
    if events is not None:
        log = tmp_path / "events"
        log.write_bytes(events)
        files.append((".events.log", log))
        install.append({"path": ".events.log", "sha256": hashlib.sha256(events).hexdigest()})
    agent.put_files("demo", files, on_file=lambda: None)
    agent.request(
        {
            "op": "promote",
            "dataset": "demo",
            "install": install,
            "delete": [],
            "expect": expect,
            "events": {"check": True},
        }
    )


def tree(base: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(base)): p.read_bytes()
        for p in sorted(base.rglob("*"))
        if p.is_file() and not any(is_runtime(part) for part in p.relative_to(base).parts)
    }


def test_stage_and_promote(base: Path, tmp_path: Path):
    agent = start(base)
    try:
        _push(
            agent, base, tmp_path, expect={"_derived/ns/part-2.parquet": None}, events=b'{"a":1}\n{"b":2}\n'
        )
    finally:
        agent.close()
    assert (base / "demo/_derived/ns/part-2.parquet").read_bytes() == b"P2"
    assert (base / "demo/.events.log").read_bytes().endswith(b'{"b":2}\n')
    assert not [n for n in os.listdir(base) if n.startswith(".demo")]


def test_promotion_refuses_target_changed_since_plan(base: Path, tmp_path: Path):
    before = tree(base)
    agent = start(base)
    try:
        with pytest.raises(DivergedError):
            _push(agent, base, tmp_path, expect={"_derived/ns/part-1.parquet": "0" * 64})
    finally:
        agent.close()
    assert tree(base) == before
    assert not [n for n in os.listdir(base) if n.startswith(".demo")]


def test_promotion_refuses_target_rewritten_in_place_after_the_plan_hashed_it(base: Path, tmp_path: Path):
    time.sleep(RACY_NS / 1e9 + 0.1)  # old enough now for the agent to cache the hashes of its manifest
    agent = start(base)
    try:
        planned = {
            f["path"]: f["sha256"] for f in agent.request({"op": "manifest", "dataset": "demo"})["files"]
        }
        part = base / "demo/_derived/ns/part-1.parquet"
        info = part.stat()
        with open(part, "r+b") as handle:
            handle.write(b"X")
        os.utime(part, ns=(info.st_atime_ns, info.st_mtime_ns))
        before = tree(base)
        with pytest.raises(DivergedError, match="changed while"):
            _push(
                agent,
                base,
                tmp_path,
                expect={"_derived/ns/part-1.parquet": planned["_derived/ns/part-1.parquet"]},
            )
    finally:
        agent.close()
    assert tree(base) == before
    assert not [n for n in os.listdir(base) if n.startswith(".demo")]


def test_promotion_refuses_log_that_does_not_extend(base: Path, tmp_path: Path):
    before = tree(base)
    agent = start(base)
    try:
        with pytest.raises(EventsError, match="not a prefix"):
            _push(agent, base, tmp_path, expect={}, events=b'{"z":1}\n{"b":2}\n')
    finally:
        agent.close()
    assert tree(base) == before


def test_get_streams_files_and_refuses_symlinks(base: Path, tmp_path: Path):
    (base / "demo" / "link").symlink_to("/etc/hostname")
    agent = start(base)
    got = {}
    try:
        agent.get_files(
            "demo",
            ["records.parquet", "_derived/ns/part-1.parquet"],
            lambda p, size, blocks: got.__setitem__(p, b"".join(blocks)),
        )
        assert got == {"records.parquet": b"R" * 100, "_derived/ns/part-1.parquet": b"P1"}
        with pytest.raises(VerifyError, match="not a regular file"):
            agent.get_files("demo", ["link"], lambda p, s, b: None)
    finally:
        agent.close()


def test_a_push_that_cannot_fit_is_refused_before_the_stage_opens(small_disk, tmp_path: Path):
    base = small_disk(tmp_path / "small", 64 << 10)
    (base / "demo").mkdir()
    agent = start(base)
    try:
        agent.request({"op": "lock", "dataset": "demo", "exclusive": True, "timeout": 1})
        with pytest.raises(StagingError, match=r"remote demo: not enough free space .* needs 1048576 bytes"):
            agent.request({"op": "stage", "dataset": "demo", "sizes": [1 << 20]})
        assert [name for name in os.listdir(base) if ".usr-stage-" in name] == []
    finally:
        agent.close()


def test_a_write_that_finds_the_disk_full_is_staging_and_the_channel_survives(small_disk, tmp_path: Path):
    base = small_disk(tmp_path / "small", 64 << 10)
    (base / "demo").mkdir()
    (base / "demo" / "records.parquet").write_bytes(b"R" * 100)
    before = tree(base)
    big, small = tmp_path / "big", tmp_path / "small.txt"
    big.write_bytes(b"B" * (256 << 10))
    small.write_bytes(b"S")
    agent = start(base)
    try:
        agent.request({"op": "lock", "dataset": "demo", "exclusive": True, "timeout": 1})
        agent.request({"op": "stage", "dataset": "demo", "sizes": [1, 1]})
        with pytest.raises(StagingError, match="remote demo: disk full while staging 'big'") as failed:
            agent.put_files("demo", [("big", big), ("s", small)], lambda: None)
        assert failed.value.paths == ["big"]
        assert agent.request({"op": "manifest", "dataset": "demo"})["exists"]
        agent.request({"op": "abort", "dataset": "demo"})
        assert [name for name in os.listdir(base) if ".usr-stage-" in name] == []
    finally:
        agent.close()
    assert tree(base) == before


def test_a_name_the_stage_already_holds_is_refused_by_name(base: Path, tmp_path: Path):
    """What a case- or normalization-folding filesystem does to two twins: the second name is taken."""
    before = tree(base)
    twin = tmp_path / "twin"
    twin.write_bytes(b"T")
    agent = start(base)
    try:
        agent.request({"op": "lock", "dataset": "demo", "exclusive": True, "timeout": 1})
        agent.request({"op": "stage", "dataset": "demo", "sizes": [1, 1]})
        with pytest.raises(StagingError, match="cannot stage 'caf\u0301e': another staged file already"):
            agent.put_files("demo", [("caf\u0301e", twin), ("caf\u0301e", twin)], lambda: None)
        agent.request({"op": "abort", "dataset": "demo"})
        assert agent.request({"op": "manifest", "dataset": "demo"})["exists"]
    finally:
        agent.close()
    assert tree(base) == before
