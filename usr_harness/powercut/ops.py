"""The operations the layer records, and their log on disk (JSON lines, write payloads in a side file).

Path operations carry paths, resolved again on replay; operations on an open file carry the node id the
recorder gave that file, because its path may have changed (rename) or gone (unlink) since it was opened.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import BinaryIO

from usr_harness.powercut.errors import PowerCutError

LOG_NAME = "ops.jsonl"
DATA_NAME = "ops.data"
RESET_REQUEST = "reset.json"
"""Left in a running layer's log folder by `PowerCutMount.cut_in_place`: {"log_folder", "identities"}."""


class OpKind(StrEnum):
    WRITE = "write"
    TRUNCATE = "truncate"
    CREATE = "create"
    MKDIR = "mkdir"
    SYMLINK = "symlink"
    LINK = "link"
    RENAME = "rename"
    UNLINK = "unlink"
    RMDIR = "rmdir"
    FSYNC = "fsync"
    FDATASYNC = "fdatasync"


NAMESPACE_KINDS = frozenset(
    {OpKind.CREATE, OpKind.MKDIR, OpKind.SYMLINK, OpKind.LINK, OpKind.RENAME, OpKind.UNLINK, OpKind.RMDIR}
)
SYNC_KINDS = frozenset({OpKind.FSYNC, OpKind.FDATASYNC})


@dataclass(frozen=True)
class Op:
    """One durability-relevant operation, in the order the layer performed it.

    `path`: the operation's path (for write/truncate/fsync only a label: `node` identifies the file).
    `path2`: rename and link destination, symlink target. `offset`: write offset or truncate length.
    `identity`: (ino, mtime_ns, ctime_ns) the node showed when it was created or synced.
    """

    kind: OpKind
    path: str = ""
    path2: str = ""
    node: int = -1
    offset: int = 0
    data: bytes = b""
    identity: tuple[int, int, int] | None = None

    def describe(self) -> str:
        """One line for a failure message: `rename /a -> /b`, `write /f @4096+100`."""
        if self.kind == OpKind.WRITE:
            return f"write {self.path} @{self.offset}+{len(self.data)}"
        if self.kind == OpKind.TRUNCATE:
            return f"truncate {self.path} to {self.offset}"
        if self.kind in (OpKind.RENAME, OpKind.LINK, OpKind.SYMLINK):
            return f"{self.kind} {self.path} -> {self.path2}"
        return f"{self.kind} {self.path}"


class LogWriter:
    """Appends ops to ops.jsonl (+ ops.data), flushed per op: a dying layer leaves a whole prefix."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self._lines = open(folder / LOG_NAME, "w", encoding="utf-8")  # noqa: SIM115 - closed by close()
        self._data: BinaryIO = open(folder / DATA_NAME, "wb")  # noqa: SIM115 - closed by close()
        self._data_size = 0

    def append(self, op: Op) -> None:
        record = {
            "kind": str(op.kind),
            "path": op.path,
            "path2": op.path2,
            "node": op.node,
            "offset": op.offset,
        }
        if op.identity is not None:
            record["identity"] = list(op.identity)
        if op.data:
            self._data.write(op.data)
            self._data.flush()
            record["data"] = [self._data_size, len(op.data)]
            self._data_size += len(op.data)
        self._lines.write(json.dumps(record, separators=(",", ":")) + "\n")
        self._lines.flush()

    def close(self) -> None:
        self._lines.close()
        self._data.close()


def read_log(folder: Path) -> list[Op]:
    """The ops a layer recorded in `folder`; a torn last line (the layer died mid-append) is dropped."""
    lines_path, data_path = folder / LOG_NAME, folder / DATA_NAME
    if not lines_path.exists():
        raise PowerCutError(f"{lines_path}: no operation log (did the layer start?)")
    data = data_path.read_bytes() if data_path.exists() else b""
    lines = lines_path.read_text(encoding="utf-8").splitlines()
    ops: list[Op] = []
    for number, line in enumerate(lines, 1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            if number == len(lines):
                break
            raise PowerCutError(f"{lines_path}:{number}: not a JSON record") from None
        payload = b""
        if "data" in record:
            start, size = record["data"]
            payload = data[start : start + size]
        ops.append(
            Op(
                kind=OpKind(record["kind"]),
                path=record["path"],
                path2=record["path2"],
                node=record["node"],
                offset=record["offset"],
                data=payload,
                identity=tuple(record["identity"]) if "identity" in record else None,
            )
        )
    return ops
