"""The durability model on small cases: each rule, under both policies, without FUSE."""

from __future__ import annotations

import pytest

from usr_harness.powercut import DIRECTORY, Op, OpKind, Policy, Symlink, cut_states, durable_tree
from usr_harness.powercut.errors import PowerCutError
from usr_harness.powercut.model import DurabilityModel

STRICT, AHEAD = Policy.STRICT, Policy.METADATA_AHEAD
ROOT = 0


def node_of(initial: dict, ops: list[Op], path: str) -> int:
    model = DurabilityModel(initial)
    for op in ops:
        model.apply(op)
    return model.names.resolve(path)


def create(path: str) -> Op:
    return Op(OpKind.CREATE, path=path)


def write(node: int, data: bytes, offset: int = 0) -> Op:
    return Op(OpKind.WRITE, node=node, offset=offset, data=data)


def fsync(node: int) -> Op:
    return Op(OpKind.FSYNC, node=node)


def rename(source: str, target: str) -> Op:
    return Op(OpKind.RENAME, path=source, path2=target)


def test_rename_without_directory_fsync_is_undone() -> None:
    initial = {"a": b"old"}
    new = node_of(initial, [create("/t")], "/t")
    ops = [create("/t"), write(new, b"new"), fsync(new), rename("/t", "/a")]
    assert durable_tree(initial, ops, STRICT) == {"a": b"old"}
    assert durable_tree(initial, [*ops, fsync(ROOT)], STRICT) == {"a": b"new"}


def test_metadata_ahead_keeps_the_rename_and_loses_unsynced_data() -> None:
    initial = {"a": b"old"}
    new = node_of(initial, [create("/t")], "/t")
    ops = [create("/t"), write(new, b"new"), rename("/t", "/a")]
    assert durable_tree(initial, ops, AHEAD) == {"a": b""}
    assert durable_tree(initial, ops, STRICT) == {"a": b"old"}


def test_a_synced_file_keeps_its_bytes() -> None:
    ops = [write(1, b"def", offset=3), fsync(1)]
    for policy in Policy:
        assert durable_tree({"f": b"abc"}, ops, policy) == {"f": b"abcdef"}


def test_an_unsynced_append_is_lost() -> None:
    ops = [write(1, b"def", offset=3)]
    for policy in Policy:
        assert durable_tree({"f": b"abc"}, ops, policy) == {"f": b"abc"}


def test_a_write_after_the_last_fsync_is_lost_the_one_before_kept() -> None:
    ops = [write(1, b"A"), fsync(1), write(1, b"B", offset=1)]
    assert durable_tree({"f": b""}, ops) == {"f": b"A"}


def test_a_created_file_whose_directory_was_not_fsynced_disappears() -> None:
    ops = [create("/n"), write(1, b"data"), fsync(1)]
    assert durable_tree({}, ops, STRICT) == {}
    assert durable_tree({}, ops, AHEAD) == {"n": b"data"}


def test_fsync_of_file_then_directory_makes_a_new_file_durable() -> None:
    ops = [create("/n"), write(1, b"data"), fsync(1), fsync(ROOT)]
    assert durable_tree({}, ops, STRICT) == {"n": b"data"}


def test_directory_fsync_without_file_fsync_leaves_an_empty_file() -> None:
    ops = [create("/n"), write(1, b"data"), fsync(ROOT)]
    assert durable_tree({}, ops, STRICT) == {"n": b""}


def test_an_unlink_without_directory_fsync_is_undone() -> None:
    ops = [Op(OpKind.UNLINK, path="/f")]
    assert durable_tree({"f": b"x"}, ops, STRICT) == {"f": b"x"}
    assert durable_tree({"f": b"x"}, ops, AHEAD) == {}
    assert durable_tree({"f": b"x"}, [*ops, fsync(ROOT)], STRICT) == {}


def test_a_new_directory_needs_its_parent_synced_too() -> None:
    ops = [Op(OpKind.MKDIR, path="/d"), create("/d/f"), write(2, b"x"), fsync(2), fsync(1)]
    assert durable_tree({}, ops, STRICT) == {}
    assert durable_tree({}, [*ops, fsync(ROOT)], STRICT) == {"d": DIRECTORY, "d/f": b"x"}


def test_a_rename_between_directories_is_atomic_when_either_is_synced() -> None:
    initial = {"a": DIRECTORY, "a/x": b"x", "b": DIRECTORY}
    a, b = 1, 3
    moved = {"a": DIRECTORY, "b": DIRECTORY, "b/x": b"x"}
    assert durable_tree(initial, [rename("/a/x", "/b/x")], STRICT) == initial
    assert durable_tree(initial, [rename("/a/x", "/b/x"), fsync(b)], STRICT) == moved
    assert durable_tree(initial, [rename("/a/x", "/b/x"), fsync(a)], STRICT) == moved
    # only the rename travels with it: another unsynced change in the other directory stays lost
    ops = [create("/a/y"), rename("/a/x", "/b/x"), fsync(b)]
    assert durable_tree(initial, ops, STRICT) == moved


def test_truncate_is_file_data_lost_unless_synced() -> None:
    ops = [Op(OpKind.TRUNCATE, node=1, offset=1)]
    assert durable_tree({"f": b"abc"}, ops) == {"f": b"abc"}
    assert durable_tree({"f": b"abc"}, [*ops, fsync(1)]) == {"f": b"a"}
    grow = [Op(OpKind.TRUNCATE, node=1, offset=5), Op(OpKind.FDATASYNC, node=1)]
    assert durable_tree({"f": b"abc"}, grow) == {"f": b"abc\0\0"}


def test_a_hard_link_and_a_symlink_follow_the_directory_rule() -> None:
    ops = [Op(OpKind.LINK, path="/f", path2="/g"), Op(OpKind.SYMLINK, path="/s", path2="f")]
    assert durable_tree({"f": b"x"}, ops, STRICT) == {"f": b"x"}
    synced = durable_tree({"f": b"x"}, [*ops, fsync(ROOT)], STRICT)
    assert synced == {"f": b"x", "g": b"x", "s": Symlink("f")}


def test_a_durable_loop_of_directories_is_cut() -> None:
    initial = {"a": DIRECTORY, "a/b": DIRECTORY}
    b = 2
    # b is renamed inside a (not tracked: one directory), then out of a under its new name, so a's synced
    # entry b still points at it; then a moves into b: root -> c(b) -> a -> b(b) again
    ops = [rename("/a/b", "/a/c"), rename("/a/c", "/c"), rename("/a", "/c/a"), fsync(b), fsync(ROOT)]
    assert durable_tree(initial, ops, STRICT) == {"c": DIRECTORY, "c/a": DIRECTORY}


def test_cut_states_match_a_replay_of_each_prefix() -> None:
    ops = [create("/n"), write(1, b"1"), fsync(1), fsync(ROOT), write(1, b"2", offset=1), rename("/n", "/m")]
    for policy in Policy:
        states = list(cut_states({}, ops, policy))
        assert [k for k, _ in states] == list(range(len(ops) + 1))
        for k, tree in states:
            assert tree == durable_tree({}, ops[:k], policy), (policy, k)
    strict = [tree for _, tree in cut_states({}, ops, STRICT)]
    assert strict[0] is strict[1] is strict[2]
    assert strict[4] is strict[5] is strict[6]


def test_ops_on_unknown_names_or_nodes_are_named_errors() -> None:
    with pytest.raises(PowerCutError, match="not in the layer's name space"):
        durable_tree({}, [rename("/missing", "/x")])
    with pytest.raises(PowerCutError, match="not a file the model knows"):
        durable_tree({}, [write(7, b"x")])
    with pytest.raises(PowerCutError, match="already exists"):
        durable_tree({"f": b""}, [create("/f")])


def test_a_cut_keeps_each_nodes_identity_from_its_last_sync_or_creation() -> None:
    initial = {"f": b"x", "g": b"y"}
    ops = [
        Op(OpKind.CREATE, path="/n", identity=(50, 1, 1)),
        write(3, b"new"),
        Op(OpKind.FSYNC, node=3, identity=(50, 2, 2)),
        write(1, b"changed"),  # unsynced: f keeps its identity from before the run
        Op(OpKind.CREATE, path="/lost", identity=(51, 3, 3)),
        fsync(ROOT),
    ]
    model = DurabilityModel(initial, {"f": (10, 0, 0), "g": (11, 0, 0)})
    for op in ops:
        model.apply(op)
    assert model.durable_identities() == {
        "f": (10, 0, 0),
        "g": (11, 0, 0),
        "lost": (51, 3, 3),
        "n": (50, 2, 2),
    }
    model.apply(Op(OpKind.UNLINK, path="/lost"))
    model.apply(fsync(ROOT))
    assert "lost" not in model.durable_identities()
