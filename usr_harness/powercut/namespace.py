"""The live name space as node ids: which name in which directory points to which file or directory.

The layer keeps one to know which file an open handle writes to; the durability model keeps one as the
volatile (page-cache) view and compares it with what was synced. Both build it from the same sorted listing
and apply the same ops, so both give a new file the same node id.
"""

from __future__ import annotations

from collections.abc import Iterable

from usr_harness.powercut.errors import PowerCutError

ROOT = 0


def split(path: str) -> list[str]:
    """`/a/b` or `a/b` -> ["a", "b"]; the root is []."""
    return [part for part in path.split("/") if part]


class Namespace:
    """Directories' entries (name -> node id) and each node's kind: file, dir or symlink."""

    def __init__(self) -> None:
        self.kinds: dict[int, str] = {ROOT: "dir"}
        self.entries: dict[int, dict[str, int]] = {ROOT: {}}
        self._next = ROOT + 1

    @classmethod
    def from_listing(cls, listing: Iterable[tuple[str, str]]) -> Namespace:
        """Node ids 1, 2, ... in the listing's order (parents must come before their children)."""
        namespace = cls()
        for path, kind in listing:
            namespace.add(path, kind)
        return namespace

    def resolve(self, path: str) -> int:
        node = ROOT
        for part in split(path):
            children = self.entries.get(node)
            if children is None or part not in children:
                raise PowerCutError(f"{path}: not in the layer's name space")
            node = children[part]
        return node

    def parent(self, path: str) -> tuple[int, str]:
        """(directory node, name) of `path`; the root has no parent."""
        parts = split(path)
        if not parts:
            raise PowerCutError("the root has no parent directory")
        directory = self.resolve("/".join(parts[:-1]))
        if self.kinds[directory] != "dir":
            raise PowerCutError(f"{path}: parent is not a directory")
        return directory, parts[-1]

    def add(self, path: str, kind: str) -> int:
        """A new node of `kind` at `path` (which must not exist yet)."""
        directory, name = self.parent(path)
        if name in self.entries[directory]:
            raise PowerCutError(f"{path}: already exists")
        node = self._next
        self._next += 1
        self.kinds[node] = kind
        if kind == "dir":
            self.entries[node] = {}
        self.entries[directory][name] = node
        return node

    def link(self, source: str, target: str) -> int:
        """A second name `target` for the file at `source`."""
        node = self.resolve(source)
        directory, name = self.parent(target)
        self.entries[directory][name] = node
        return node

    def remove(self, path: str) -> int:
        """Drop the name `path`; the node lives on (an open handle or a durable entry may still reach it)."""
        directory, name = self.parent(path)
        if name not in self.entries[directory]:
            raise PowerCutError(f"{path}: not in the layer's name space")
        return self.entries[directory].pop(name)

    def rename(self, source: str, target: str) -> int:
        """Move the name `source` to `target`, replacing what `target` named (as rename(2) does)."""
        node = self.resolve(source)
        directory, name = self.parent(target)
        if self.entries[directory].get(name) == node:
            return node
        self.remove(source)
        self.entries[directory][name] = node
        return node
