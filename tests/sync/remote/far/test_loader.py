"""The loader's compile cache: the agent's code is compiled once per agent text and interpreter."""

from __future__ import annotations

import ast
import hashlib
import marshal
import os
import sys
from pathlib import Path

import pytest

from usr_harness.sync.remote.far.loader import KEEP, cache_folder, load_agent
from usr_harness.sync.remote.near.bundle import BOOTSTRAP, loader_source
from usr_harness.sync.remote.near.client import AgentClient
from usr_harness.sync.remote.near.process_channel import ProcessChannel

SOURCE = b"answer = 1\n"


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return Path(cache_folder())


def run(code) -> int:
    scope: dict = {}
    exec(code, scope)
    return scope["answer"]


def entry_for(source: bytes, cache: Path) -> Path:
    return cache / f"{hashlib.sha256(source).hexdigest()}.{sys.implementation.cache_tag}"


def test_the_loader_parses_as_the_oldest_python_the_remotes_allow() -> None:
    ast.parse(loader_source(), feature_version=(3, 8))


def test_a_second_load_reads_the_cached_code_instead_of_compiling(cache: Path) -> None:
    assert run(load_agent(SOURCE)) == 1
    entry = entry_for(SOURCE, cache)
    assert entry.is_file()
    planted = marshal.dumps(compile(b"answer = 2\n", "usr-agent", "exec"))
    entry.write_bytes(hashlib.sha256(planted).digest() + planted)
    assert run(load_agent(SOURCE)) == 2  # read from the cache: the planted entry, not the source


def test_a_damaged_entry_is_compiled_again_and_rewritten(cache: Path) -> None:
    load_agent(SOURCE)
    entry = entry_for(SOURCE, cache)
    whole = entry.read_bytes()
    entry.write_bytes(whole[:-7])
    assert run(load_agent(SOURCE)) == 1
    assert entry.read_bytes() == whole


def test_the_newest_entries_are_kept_and_older_ones_dropped(cache: Path) -> None:
    sources = [f"answer = {n}\n".encode() for n in range(KEEP + 2)]
    for age, source in enumerate(sources):
        load_agent(source)
        os.utime(entry_for(source, cache), (1000 + age, 1000 + age))
    load_agent(SOURCE)
    kept = {path.name for path in cache.iterdir()}
    assert kept == {entry_for(source, cache).name for source in [SOURCE, *sources[-(KEEP - 1) :]]}


def test_a_cache_that_cannot_be_written_only_costs_the_compile(tmp_path: Path, monkeypatch) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    assert run(load_agent(SOURCE)) == 1
    assert blocker.read_text() == "x"


def test_a_real_agent_starts_through_the_loader_and_leaves_one_entry(cache: Path, tmp_path: Path) -> None:
    for _ in range(2):
        agent = AgentClient.start(
            ProcessChannel([sys.executable, "-I", "-u", "-c", BOOTSTRAP]), str(tmp_path), "test agent"
        )
        try:
            assert agent.hello["base_dir"] == str(tmp_path.resolve())
        finally:
            agent.close()
    assert len(list(cache.iterdir())) == 1
