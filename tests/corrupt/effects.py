"""Kind by kind, what the broken file must look like afterwards (beyond "only this path changed")."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from usr_harness.corrupt import AppliedCorruption, Corruption
from usr_harness.corrupt.event_edits import LINE_LIMIT
from usr_harness.dataset.registry import load_registry
from usr_harness.report.fingerprint import TreeFingerprint, compare

SAME_SIZE = ("byte-flip", "footer-damage", "kv-tamper", "branched", "reordered")


def readable_parquet(data: bytes) -> bool:
    try:
        pq.read_table(pa.BufferReader(data), page_checksum_verification=True)
    except (OSError, pa.ArrowException):
        return False
    return True


def check_effect(
    entry: Corruption,
    applied: AppliedCorruption,
    before: TreeFingerprint,
    after: TreeFingerprint,
    root: Path,
    template: Path,
) -> None:
    """Assert the fingerprint moved exactly at the declared paths, in the way the kind promises."""
    diff = compare(before, after)
    assert diff.paths == tuple(sorted(applied.paths)), diff.lines()
    assert diff.unchanged_count == len(before.entries) - len(applied.paths) + len(diff.added)
    kind, path = entry.kind, applied.path
    old, new = before.by_path.get(path), after.by_path.get(path)
    if kind == "delete":
        assert new is None and [e.path for e in diff.removed] == [path]
    elif kind == "rename":
        (added,) = diff.added
        assert new is None and added.blake3 == old.blake3 and added.path == applied.paths[1]
    elif kind == "stray-file":
        (added,) = diff.added
        assert added.path == path and added.type == "file" and old is None
    elif kind == "symlink-outside":
        assert new.type == "symlink" and new.link_target == "/etc/passwd"
    elif kind == "symlink-inside":
        assert new.type == "symlink" and not new.link_target.startswith("/")
        resolved = os.path.normpath(os.path.join(os.path.dirname(path), new.link_target))
        assert resolved.startswith(path.split("/")[0] + "/") and after.by_path[resolved].type == "file"
    elif kind == "fifo":
        assert new.type == "fifo"
    else:
        _check_content(kind, entry.section, path, old, new, root, template)


def _check_content(kind, section, path, old, new, root: Path, template: Path) -> None:
    assert new.type == "file" and new.blake3 != old.blake3
    data = (root / path).read_bytes()
    original = (template / path).read_bytes()
    if kind in SAME_SIZE:
        assert new.size == old.size
        assert os.stat(root / path).st_mtime_ns == os.stat(template / path).st_mtime_ns
    if kind == "byte-flip":
        changed = [i for i, (a, b) in enumerate(zip(original, data, strict=True)) if a != b]
        assert len(changed) == 1
    if kind == "truncate":
        assert new.size < old.size and original.startswith(data)
    if kind in ("append-garbage", "invalid-utf8", "oversize-record", "no-final-newline"):
        assert new.size > old.size and data.startswith(original)
    if section in ("primary", "snapshots", "derived"):
        readable = readable_parquet(data)
        assert readable == (kind == "kv-tamper"), f"{kind}: parquet readable={readable}"
    if kind == "kv-tamper":
        old_meta = pq.read_schema(pa.BufferReader(original)).metadata
        new_meta = pq.read_schema(pa.BufferReader(data)).metadata
        (key,) = [k for k in old_meta if old_meta[k] != new_meta[k]]
        assert key in (b"usr:schema_version", b"usr:namespace_contract_hash")
        assert len(old_meta[key]) == len(new_meta[key])
    if section == "events":
        _check_events(kind, original, data)
    if kind == "hash-drift":
        assert sorted(yaml.safe_load(data)["namespaces"]) == ["densegen", "usr_state"]
        assert load_registry(root).hash != load_registry(template).hash


def _check_events(kind: str, original: bytes, data: bytes) -> None:
    lines = data.splitlines(keepends=True)
    if kind == "truncate":
        assert data.endswith(b"\n") and all(json.loads(line) for line in lines)
    elif kind == "cut-mid-line":
        assert not data.endswith(b"\n")
    elif kind == "byte-flip":
        _assert_not_utf8(data)
    elif kind == "branched":
        assert lines[:-1] == original.splitlines(keepends=True)[:-1]
        json.loads(lines[-1])
    elif kind == "reordered":
        original_lines = original.splitlines(keepends=True)
        assert sorted(lines) == sorted(original_lines) and lines != original_lines
    elif kind in ("append-garbage", "invalid-utf8"):
        _assert_not_utf8(data)
    elif kind == "oversize-record":
        assert len(lines[-1]) > LINE_LIMIT and json.loads(lines[-1])
    elif kind == "no-final-newline":
        assert not data.endswith(b"\n") and json.loads(lines[-1])


def _assert_not_utf8(data: bytes) -> None:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return
    raise AssertionError("the event log still decodes as UTF-8")
