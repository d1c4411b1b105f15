"""The durability model: from the state before a run and the ops recorded, what a power cut leaves.

Pure logic, no FUSE: it replays the op log over a tree and keeps, beside the volatile state every reader
sees, the state that reached the disk. The rules (docs/powercut.md says why):

- File contents (writes, truncates) reach the disk only when the file is fsynced or fdatasynced; then all of
  it does. Which handle is synced does not matter, the file (node) is.
- A directory's entries (create, mkdir, symlink, link, rename, unlink, rmdir) reach the disk only when that
  directory is fsynced; then all of its entries do, each pointing at its node whose contents are whatever
  was last synced (nothing, for a file never synced).
- A rename is atomic across a cut, as one journal transaction makes it on ext4, XFS and btrfs: syncing
  either of its directories makes it durable in both (never both names, never neither).
- A node's identity (inode number, mtime, ctime) is the one it showed at its last sync, or at its creation:
  what the inode on disk holds.
- Policy STRICT applies these rules: the weakest state POSIX allows, fsync(2)'s "an explicit fsync() on a
  file descriptor for the directory is also needed". Policy METADATA_AHEAD takes every entry change as
  durable at once and loses only unsynced file contents (a journal that committed the names before the data,
  LazyFS's model): the crash that leaves a renamed file empty.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from enum import StrEnum

from usr_harness.powercut.errors import PowerCutError
from usr_harness.powercut.namespace import ROOT, Namespace
from usr_harness.powercut.ops import NAMESPACE_KINDS, SYNC_KINDS, Op, OpKind
from usr_harness.powercut.tree import DIRECTORY, Entry, Identity, Symlink, Tree, kind_of


class Policy(StrEnum):
    STRICT = "strict"
    METADATA_AHEAD = "metadata-ahead"


class DurabilityModel:
    """Volatile and durable state of one file system, advanced one recorded op at a time."""

    def __init__(self, initial: Tree, identities: Mapping[str, Identity] | None = None) -> None:
        ordered = sorted(initial)
        self.names = Namespace.from_listing((path, kind_of(initial[path])) for path in ordered)
        self._data: dict[int, bytearray] = {}
        self._synced_data: dict[int, bytes] = {}
        self._links: dict[int, str] = {}
        for path in ordered:
            entry = initial[path]
            node = self.names.resolve(path)
            if isinstance(entry, bytes):
                self._data[node] = bytearray(entry)
                self._synced_data[node] = entry
            elif isinstance(entry, Symlink):
                self._links[node] = entry.target
        self._synced_entries = {node: dict(children) for node, children in self.names.entries.items()}
        self._renames: list[tuple[int, str, int, str, int]] = []
        """Renames between two directories not yet durable: (from dir, name, to dir, name, node)."""
        self._synced_identity: dict[int, Identity] = {
            self.names.resolve(path): identity
            for path, identity in (identities or {}).items()
            if path in initial
        }

    def apply(self, op: Op) -> None:
        """Advance the volatile state by `op`; a sync also advances the durable state."""
        if op.kind == OpKind.WRITE:
            data = self._file(op.node)
            end = op.offset + len(op.data)
            if end > len(data):
                data.extend(bytes(end - len(data)))
            data[op.offset : end] = op.data
        elif op.kind == OpKind.TRUNCATE:
            data = self._file(op.node)
            if op.offset < len(data):
                del data[op.offset :]
            else:
                data.extend(bytes(op.offset - len(data)))
        elif op.kind == OpKind.CREATE:
            node = self.names.add(op.path, "file")
            self._data[node] = bytearray()
            self._note_identity(node, op)
        elif op.kind == OpKind.MKDIR:
            node = self.names.add(op.path, "dir")
            self._synced_entries[node] = {}
            self._note_identity(node, op)
        elif op.kind == OpKind.SYMLINK:
            node = self.names.add(op.path, "symlink")
            self._links[node] = op.path2
            self._note_identity(node, op)
        elif op.kind == OpKind.LINK:
            self.names.link(op.path, op.path2)
        elif op.kind == OpKind.RENAME:
            source, target = self.names.parent(op.path), self.names.parent(op.path2)
            node = self.names.rename(op.path, op.path2)
            if source[0] != target[0]:
                self._renames.append((*source, *target, node))
        elif op.kind in (OpKind.UNLINK, OpKind.RMDIR):
            self.names.remove(op.path)
        elif op.kind in SYNC_KINDS:
            self._sync(op.node)
            self._note_identity(op.node, op)

    def _note_identity(self, node: int, op: Op) -> None:
        if op.identity is not None:
            self._synced_identity[node] = op.identity

    def _file(self, node: int) -> bytearray:
        if node not in self._data:
            raise PowerCutError(f"node {node}: not a file the model knows")
        return self._data[node]

    def _sync(self, node: int) -> None:
        kind = self.names.kinds.get(node)
        if kind == "file":
            self._synced_data[node] = bytes(self._data[node])
        elif kind == "dir":
            self._synced_entries[node] = dict(self.names.entries[node])
            self._finish_renames(node)

    def _finish_renames(self, directory: int) -> None:
        """The renames in or out of `directory` just reached the disk: in their other directory too."""
        pending = []
        for rename in self._renames:
            source, old_name, target, new_name, node = rename
            if directory not in (source, target):
                pending.append(rename)
                continue
            if self._synced_entries[source].get(old_name) == node:
                del self._synced_entries[source][old_name]
            self._synced_entries[target][new_name] = node
        self._renames = pending

    def durable(self, policy: Policy = Policy.STRICT) -> dict[str, Entry]:
        """The tree a power cut now leaves on disk under `policy`."""
        entries = self._synced_entries if policy == Policy.STRICT else self.names.entries
        tree: dict[str, Entry] = {}
        self._walk(ROOT, "", entries, {ROOT}, tree)
        return tree

    def durable_identities(self, policy: Policy = Policy.STRICT) -> dict[str, Identity]:
        """The identity each path of `durable(policy)` shows after the cut, where one was recorded."""
        entries = self._synced_entries if policy == Policy.STRICT else self.names.entries
        nodes: dict[str, int] = {}
        self._walk(ROOT, "", entries, {ROOT}, {}, nodes=nodes)
        return {
            path: self._synced_identity[node] for path, node in nodes.items() if node in self._synced_identity
        }

    def volatile(self) -> dict[str, Entry]:
        """The tree every reader sees now (what a process crash, not a power cut, leaves)."""
        tree: dict[str, Entry] = {}
        self._walk(ROOT, "", self.names.entries, {ROOT}, tree, synced=False)
        return tree

    def _walk(
        self,
        directory: int,
        prefix: str,
        entries: dict[int, dict[str, int]],
        ancestors: set[int],
        tree: dict[str, Entry],
        *,
        synced: bool = True,
        nodes: dict[str, int] | None = None,
    ) -> None:
        for name, node in sorted(entries.get(directory, {}).items()):
            path = f"{prefix}{name}"
            kind = self.names.kinds[node]
            if nodes is not None and not (kind == "dir" and node in ancestors):
                nodes[path] = node
            if kind == "dir":
                # A durable entry may lead back to an ancestor (dirs moved, not all synced): cut the loop.
                if node in ancestors:
                    continue
                tree[path] = DIRECTORY
                self._walk(node, f"{path}/", entries, ancestors | {node}, tree, synced=synced, nodes=nodes)
            elif kind == "symlink":
                tree[path] = Symlink(self._links[node])
            else:
                tree[path] = self._synced_data.get(node, b"") if synced else bytes(self._data[node])


def changes_durable_state(op: Op, policy: Policy) -> bool:
    """Whether a cut just after `op` can leave a different tree than a cut just before it."""
    if op.kind in SYNC_KINDS:
        return True
    return policy == Policy.METADATA_AHEAD and op.kind in NAMESPACE_KINDS


def durable_tree(initial: Tree, ops: Sequence[Op], policy: Policy = Policy.STRICT) -> dict[str, Entry]:
    """The tree a power cut leaves after `ops` (replayed over `initial`)."""
    model = DurabilityModel(initial)
    for op in ops:
        model.apply(op)
    return model.durable(policy)


def cut_states(
    initial: Tree, ops: Sequence[Op], policy: Policy = Policy.STRICT
) -> Iterator[tuple[int, Tree]]:
    """(k, tree a cut after the first k ops leaves) for k = 0 .. len(ops), in one replay.

    Consecutive cuts that cannot differ share one tree object, so a sweep can check each distinct state once.
    """
    model = DurabilityModel(initial)
    state: Tree = model.durable(policy)
    yield 0, state
    for k, op in enumerate(ops, 1):
        model.apply(op)
        if changes_durable_state(op, policy):
            state = model.durable(policy)
        yield k, state
