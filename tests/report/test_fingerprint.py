"""Tree fingerprints: deterministic, exact about what changed, blind only to runtime files and mtimes."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import blake3
import pytest

from usr_harness.report import fingerprint as fp
from usr_harness.report.fingerprint import TreeEntry, TreeFingerprint, compare, fingerprint_tree


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    (root / "demo/_derived/ns").mkdir(parents=True)
    (root / "demo/records.parquet").write_bytes(b"PAR1" + bytes(range(256)) * 40 + b"PAR1")
    (root / "demo/meta.md").write_text("name: demo\n")
    (root / "demo/_derived/ns/part-a.parquet").write_bytes(b"part")
    (root / "demo/empty").mkdir()
    (root / "registry.yaml").write_text("namespaces: {}\n")
    return root


def test_same_content_same_digest_wherever_it_lives(tree: Path, tmp_path: Path) -> None:
    first = fingerprint_tree(tree)
    copy = Path(shutil.copytree(tree, tmp_path / "elsewhere"))
    os.utime(copy / "demo/meta.md", ns=(1, 1))
    assert fingerprint_tree(tree) == first == fingerprint_tree(copy)
    assert [entry.path for entry in first.entries] == sorted(entry.path for entry in first.entries)
    meta = first.by_path["demo/meta.md"]
    assert meta == TreeEntry("demo/meta.md", "file", 11, blake3.blake3(b"name: demo\n").hexdigest())
    assert first.by_path["demo/empty"] == TreeEntry("demo/empty", "dir", 0)


def test_json_round_trip_and_tampered_digest_refused(tree: Path) -> None:
    original = fingerprint_tree(tree)
    data = json.loads(json.dumps(original.as_dict()))
    assert TreeFingerprint.from_dict(data) == original
    data["entries"][0]["size"] += 1
    with pytest.raises(ValueError, match="does not match"):
        TreeFingerprint.from_dict(data)


def test_runtime_files_are_left_out_unless_asked(tree: Path) -> None:
    before = fingerprint_tree(tree)
    for name in (".usr.lock", ".events.lock", ".usr.lease.host-1", ".usr-tmp-abc", "x.usr-stage-1"):
        (tree / "demo" / name).write_text("runtime")
    (tree / "demo/.usr-stage-9").mkdir()
    (tree / "demo/.usr-stage-9/records.parquet").write_text("staged")
    assert fingerprint_tree(tree) == before
    everything = fingerprint_tree(tree, exclude_runtime=False)
    assert "demo/.usr-stage-9/records.parquet" in everything.by_path and everything.digest != before.digest


def test_symlinks_and_fifos_are_recorded_never_followed(tree: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("not part of the tree")
    os.symlink(outside, tree / "demo/link-dir")
    os.symlink("meta.md", tree / "demo/link-file")
    os.mkfifo(tree / "demo/pipe")
    entries = fingerprint_tree(tree).by_path
    assert entries["demo/link-dir"] == TreeEntry(
        "demo/link-dir", "symlink", len(str(outside)), None, str(outside)
    )
    assert entries["demo/link-file"].link_target == "meta.md"
    assert entries["demo/pipe"] == TreeEntry("demo/pipe", "fifo", 0)
    assert not any(path.startswith("demo/link-dir/") for path in entries)


def test_compare_lists_exactly_what_changed(tree: Path) -> None:
    before = fingerprint_tree(tree)
    (tree / "demo/_derived/ns/part-a.parquet").write_bytes(b"PART")
    (tree / "demo/meta.md").write_text("name: demo, longer\n")
    (tree / "registry.yaml").unlink()
    os.symlink("meta.md", tree / "registry.yaml")
    (tree / "demo/records.parquet").unlink()
    (tree / "demo/new.txt").write_text("new")
    diff = compare(before, fingerprint_tree(tree))
    assert [entry.path for entry in diff.added] == ["demo/new.txt"]
    assert [entry.path for entry in diff.removed] == ["demo/records.parquet"]
    assert {change.path: change.what for change in diff.changed} == {
        "demo/_derived/ns/part-a.parquet": ("content",),
        "demo/meta.md": ("size", "content"),
        "registry.yaml": ("type", "size", "content"),
    }
    assert diff.unchanged_count == len(before.entries) - 4
    assert not diff.is_empty and diff == before.compare(fingerprint_tree(tree))
    assert diff.lines()[0] == "~ demo/_derived/ns/part-a.parquet (content)"
    assert (
        "+ demo/new.txt (file, 3 B)" in diff.lines()
        and "- demo/records.parquet (file, 10248 B)" in diff.lines()
    )
    assert json.loads(json.dumps(diff.as_dict()))["unchanged_count"] == diff.unchanged_count
    assert compare(before, before).is_empty


def test_large_files_stream_through_the_threaded_hasher(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fp, "SMALL_FILE", 1000)
    monkeypatch.setattr(fp, "CHUNK", 4096)
    data = os.urandom(50_000)
    (tmp_path / "big.bin").write_bytes(data)
    assert fp.hash_file(tmp_path / "big.bin") == (50_000, blake3.blake3(data).hexdigest())


def test_a_symlinked_path_is_not_hashed_through(tmp_path: Path) -> None:
    (tmp_path / "real").write_text("x")
    os.symlink(tmp_path / "real", tmp_path / "link")
    with pytest.raises(OSError):
        fp.hash_file(tmp_path / "link")


def test_a_missing_tree_is_evidence_not_a_crash(tree: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    gone = fingerprint_tree(tmp_path / "never-written")
    assert gone.entries == () and gone.digest == fp.ABSENT != fingerprint_tree(empty).digest
    assert TreeFingerprint.from_dict(json.loads(json.dumps(gone.as_dict()))) == gone
    assert compare(gone, fingerprint_tree(tree)).added
