"""Two laptops, one remote: what each adds since the last sync survives on every side (add/add).

Laptop A and laptop B both pulled the same dataset, then each works on its own. An
addition on one side is never a deletion for the other: after push(A), then B's pull
and push (in either order), then pull(A), every added file is on all three trees with
its exact bytes. Only a true conflict (the same path added with different bytes, or
event logs that both grew) is `diverged`, and a refusal changes neither side; two
grown logs are reconciled by `usr events merge` on the laptop, which keeps every line.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from usr_harness.pytest_plugin import make_drill_engine
from usr_harness.report.fingerprint import compare, fingerprint_tree

from .conftest import DATASET, REMOTE, Sync

pytestmark = [
    pytest.mark.drill,
    pytest.mark.ssh,
    pytest.mark.slow,
    pytest.mark.enforces("H-nothing-lost"),
]  # 3-5 syncs over SSH per case

NOTE = "_artifacts/notes.txt"
OLD = "_artifacts/old.txt"


@dataclass
class Laptops:
    a: Sync
    b: Sync

    def remote_file(self, rel: str) -> Path:
        return self.a.hpc / rel

    def trees(self) -> tuple[str, str, str]:
        return (
            fingerprint_tree(self.a.local).digest,
            fingerprint_tree(self.b.local).digest,
            fingerprint_tree(self.a.hpc).digest,
        )


@pytest.fixture
def laptops(sync: Sync, drill_remote, request: pytest.FixtureRequest, tmp_path: Path) -> Laptops:
    """Both laptops pulled round 0 (with an auxiliary file `OLD`): each holds a base."""
    sync.require("family-exit-codes")
    engine_b = make_drill_engine(request.config, tmp_path / "laptop-b", drill_remote, tmp_path / "engine-b")
    other = Sync(engine_b, drill_remote, sync.record, sync.rows_per_round)
    sync.hpc_rounds(0, 1)
    (sync.hpc / OLD).parent.mkdir(exist_ok=True)
    (sync.hpc / OLD).write_bytes(b"in the base\n")
    for laptop in (sync, other):
        assert laptop.pull().ok
    return Laptops(sync, other)


def _part_without_event(laptop: Sync, seed_offset: int) -> str:
    """An overlay part written straight into `_derived/` by a tool that does not log (no event line)."""
    log = laptop.local / ".events.log"
    before = log.read_bytes()
    part = laptop.local_overlay("infer", seed_offset=seed_offset)
    log.write_bytes(before)
    return str(part.relative_to(laptop.local))


def _attach(laptop: Sync, seed_offset: int) -> str:
    """A real `usr attach`: the part and its event line."""
    part = laptop.local_overlay("infer", seed_offset=seed_offset)
    return str(part.relative_to(laptop.local))


def _write(laptop: Sync, rel: str, data: bytes) -> str:
    (laptop.local / rel).parent.mkdir(parents=True, exist_ok=True)
    (laptop.local / rel).write_bytes(data)
    return rel


def _converge(laptops: Laptops, b_first: str) -> None:
    """push(A), B's pull and push in the order asked, then pull(A): every step succeeds."""
    a, b = laptops.a, laptops.b
    steps = [a.push, b.pull, b.push] if b_first == "pull" else [a.push, b.push, b.pull]
    for step in [*steps, a.pull]:
        result = step()
        assert result.ok, result.message


def _assert_everywhere(laptops: Laptops, expected: dict[str, bytes]) -> None:
    for tree in (laptops.a.local, laptops.b.local, laptops.a.hpc):
        for rel, data in expected.items():
            assert (tree / rel).read_bytes() == data, f"{tree}/{rel} lost or changed"
    remote = fingerprint_tree(laptops.a.hpc)
    for laptop in (laptops.a.local, laptops.b.local):
        differences = compare(fingerprint_tree(laptop), remote)
        assert differences.is_empty, f"{laptop}: {differences.as_dict()}"


B_FIRST = ["pull", "push"]


@pytest.mark.parametrize("b_first", B_FIRST)
def test_different_new_parts_both_survive_everywhere(laptops: Laptops, b_first: str):
    part_a = _part_without_event(laptops.a, 1)
    part_b = _part_without_event(laptops.b, 2)
    assert part_a != part_b
    expected = {
        part_a: (laptops.a.local / part_a).read_bytes(),
        part_b: (laptops.b.local / part_b).read_bytes(),
    }
    assert laptops.a.push().ok
    first = laptops.b.pull() if b_first == "pull" else laptops.b.push()
    assert first.ok, first.message
    kept = first.audit["data"]["kept"]
    assert kept == {
        "side": "local" if b_first == "pull" else "remote",
        "paths": [part_b if b_first == "pull" else part_a],
    }
    for step in (laptops.b.push if b_first == "pull" else laptops.b.pull, laptops.a.pull):
        result = step()
        assert result.ok, result.message
    _assert_everywhere(laptops, expected)


@pytest.mark.parametrize("b_first", B_FIRST)
def test_same_bytes_added_on_both_laptops_is_no_conflict(laptops: Laptops, b_first: str):
    data = b"the same note\n"
    expected = {_write(laptops.a, NOTE, data): data}
    _write(laptops.b, NOTE, data)
    _converge(laptops, b_first)
    _assert_everywhere(laptops, expected)


@pytest.mark.parametrize("b_first", B_FIRST)
def test_a_deletion_since_the_base_propagates_or_is_restored(laptops: Laptops, b_first: str):
    """A deletes `OLD`; B still holds it as in the base. B's pull carries the deletion on; B's push
    first restores it on the remote instead (a sync never deletes from its own source)."""
    old = (laptops.a.local / OLD).read_bytes()
    (laptops.a.local / OLD).unlink()
    (laptops.a.local / OLD).parent.rmdir()
    part_b = _part_without_event(laptops.b, 2)
    expected = {part_b: (laptops.b.local / part_b).read_bytes()}
    if b_first == "push":
        expected[OLD] = old
    _converge(laptops, b_first)
    _assert_everywhere(laptops, expected)
    trees = (laptops.a.local, laptops.b.local, laptops.a.hpc)
    assert all((tree / OLD).exists() == (b_first == "push") for tree in trees)


def _refused_unchanged(laptops: Laptops, action: str, path: str) -> None:
    """B's command is `diverged` naming `path`, and changes neither B's tree nor the remote."""
    b = laptops.b
    before = laptops.trees()
    result = b.pull() if action == "pull" else b.push()
    assert b.refused(result, "diverged"), result.message
    assert path in result.audit["data"]["error"]["paths"]
    assert laptops.trees() == before


@pytest.mark.parametrize("action", ["pull", "push"])
def test_same_path_added_with_different_bytes_is_diverged(laptops: Laptops, action: str):
    _write(laptops.a, NOTE, b"laptop A's note\n")
    _write(laptops.b, NOTE, b"laptop B's note\n")
    assert laptops.a.push().ok
    _refused_unchanged(laptops, action, NOTE)
    assert (laptops.b.local / NOTE).read_bytes() == b"laptop B's note\n"
    assert laptops.remote_file(NOTE).read_bytes() == b"laptop A's note\n"


@pytest.mark.parametrize("action", ["pull", "push"])
def test_two_attaches_branch_the_log_and_are_diverged(laptops: Laptops, action: str):
    part_a, part_b = _attach(laptops.a, 1), _attach(laptops.b, 2)
    log_b = (laptops.b.local / ".events.log").read_bytes()
    part_b_bytes = (laptops.b.local / part_b).read_bytes()
    assert laptops.a.push().ok
    _refused_unchanged(laptops, action, ".events.log")
    assert (laptops.b.local / ".events.log").read_bytes() == log_b
    assert (laptops.b.local / part_b).read_bytes() == part_b_bytes
    assert laptops.remote_file(part_a).read_bytes() == (laptops.a.local / part_a).read_bytes()


@pytest.mark.parametrize("action", ["pull", "push"])
def test_a_lone_attach_is_kept_by_a_pull_and_sent_by_a_push(laptops: Laptops, action: str):
    """Event lines appended since the base on one side only are additions too."""
    part_b = _attach(laptops.b, 2)
    expected = {part_b: (laptops.b.local / part_b).read_bytes()}
    expected[".events.log"] = (laptops.b.local / ".events.log").read_bytes()
    if action == "pull":
        before = laptops.trees()
        kept = laptops.b.pull()
        assert kept.ok and kept.transfer_state == "NO-OP", kept.message
        assert set(kept.audit["data"]["kept"]["paths"]) >= {part_b, ".events.log"}
        assert laptops.trees() == before
    for step in (laptops.b.push, laptops.a.pull):
        result = step()
        assert result.ok, result.message
    _assert_everywhere(laptops, expected)


def test_first_sync_without_a_base_still_refuses_to_delete(sync: Sync):
    """No base at all (the laptop copied the dataset by hand, never synced): a local file the
    remote lacks may be real work, so a pull stays `diverged`, as before add/add."""
    sync.require("family-exit-codes")
    sync.hpc_rounds(0, 1)
    shutil.copytree(sync.hpc, sync.local)
    shutil.copy2(sync.remote_root / "registry.yaml", sync.local_root / "registry.yaml")
    _write(sync, NOTE, b"mine\n")
    before = sync.prints()
    result = sync.pull()
    assert sync.refused(result, "diverged"), result.message
    assert NOTE in result.audit["data"]["error"]["paths"]
    sync.unchanged(before, "a refused first sync")


def _log(tree: Path) -> bytes:
    return (tree / ".events.log").read_bytes()


@pytest.mark.parametrize("b_first", B_FIRST)
def test_branched_logs_merge_and_every_line_and_part_survives(laptops: Laptops, b_first: str):
    laptops.b.require("events-merge")
    shared = _log(laptops.b.local)
    part_a, part_b = _attach(laptops.a, 1), _attach(laptops.b, 2)
    line_a, line_b = _log(laptops.a.local)[len(shared) :], _log(laptops.b.local)[len(shared) :]
    expected = {
        part_a: (laptops.a.local / part_a).read_bytes(),
        part_b: (laptops.b.local / part_b).read_bytes(),
        ".events.log": shared + line_a + line_b,
    }
    assert laptops.a.push().ok
    assert laptops.b.refused(laptops.b.pull(), "diverged")
    remote_before = fingerprint_tree(laptops.a.hpc).digest
    merged = laptops.b.call("events-merge", lambda: laptops.b.engine.events_merge(DATASET, REMOTE))
    assert merged.ok, merged.message
    assert _log(laptops.b.local) == expected[".events.log"]
    assert fingerprint_tree(laptops.a.hpc).digest == remote_before, "the merge wrote the remote"
    for step in (laptops.b.pull, laptops.b.push) if b_first == "pull" else (laptops.b.push, laptops.b.pull):
        result = step()
        assert result.ok, result.message
    assert laptops.a.pull().ok
    _assert_everywhere(laptops, expected)


def test_merge_refuses_a_rewritten_history_and_changes_nothing(laptops: Laptops):
    laptops.b.require("events-merge")
    _attach(laptops.a, 1)
    _attach(laptops.b, 2)
    assert laptops.a.push().ok
    log = laptops.b.local / ".events.log"
    data = log.read_bytes()
    first_digit = next(i for i, ch in enumerate(data) if chr(ch).isdigit())
    flipped = b"1" if data[first_digit : first_digit + 1] != b"1" else b"2"
    log.write_bytes(data[:first_digit] + flipped + data[first_digit + 1 :])
    before = laptops.trees()
    refused = laptops.b.call("events-merge", lambda: laptops.b.engine.events_merge(DATASET, REMOTE))
    assert laptops.b.refused(refused, "events"), refused.message
    assert laptops.b.says(refused, "does not start with the log of the last sync"), refused.message
    assert laptops.trees() == before
