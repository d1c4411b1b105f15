"""Two manifests compared section by section (pure): what differs, how the primary was compared, warnings."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from usr_harness.dataset.layout import section_of
from usr_harness.sync.inventory.manifest import FileEntry, Manifest
from usr_harness.sync.options import SyncOptions
from usr_harness.sync.plan.diff import diff_manifests, newer_snapshots, resolve_primary_mode, same_content

PATHS = ["records.parquet", "meta.md", ".events.log", "_snapshots/records-20260101T000000000000.parquet"]
PATHS += ["_derived/ns/part-20260101T000000000000-abcdef01.parquet", "notes/a.txt"]


def entry(path: str, size: int = 4, sha256: str | None = "aa", **facts) -> FileEntry:
    return FileEntry(path, section_of(path), facts.pop("kind", "file"), size, sha256=sha256, **facts)


def side(name: str, *entries: FileEntry, stats: dict | None = None) -> Manifest:
    return Manifest(name, True, {e.path: e for e in entries}, primary_stats=stats)


def test_same_content_needs_the_same_kind_and_link_and_no_pending_hash():
    plain = entry("a.txt")
    assert same_content(plain, plain, "hash")
    assert not same_content(plain, entry("a.txt", kind="symlink"), "hash")
    assert not same_content(
        entry("l", kind="symlink", link="x"), entry("l", kind="symlink", link="y"), "hash"
    )
    assert same_content(entry("l", kind="symlink", link="x"), entry("l", kind="symlink", link="x"), "hash")
    assert not same_content(plain, entry("a.txt", hash_pending=True), "size")


def test_hash_compares_digests_and_falls_back_to_size_when_one_is_missing():
    assert not same_content(entry("a", sha256="aa"), entry("a", sha256="bb"), "hash")
    assert not same_content(entry("a", sha256="aa"), entry("a", sha256="bb"), "auto")
    assert same_content(entry("a", sha256="aa"), entry("a", sha256=None), "hash")
    assert not same_content(entry("a", 4, None), entry("a", 5, None), "hash")
    assert same_content(entry("a", sha256="aa"), entry("a", sha256="bb"), "size")


def test_parquet_compares_rows_and_cols_and_falls_back_to_size_without_them():
    a, b = entry("records.parquet", 4, "aa"), entry("records.parquet", 4, "bb")
    stats = {"rows": 3, "cols": 2}
    assert same_content(a, b, "parquet", (stats, dict(stats)))
    assert not same_content(a, b, "parquet", (stats, {"rows": 4, "cols": 2}))
    assert same_content(a, b, "parquet", (stats, {"error": "unreadable"}))
    assert not same_content(a, entry("records.parquet", 5), "parquet", (None, None))


def test_auto_is_hash_then_size_then_parquet_each_fallback_warned():
    hashed, bare = entry("records.parquet"), entry("records.parquet", sha256=None)
    auto = SyncOptions(verify="auto")
    assert resolve_primary_mode(side("local", hashed), side("remote", hashed), auto) == ("hash", [])
    assert resolve_primary_mode(side("local", hashed), side("remote"), auto) == ("hash", [])
    mode, warnings = resolve_primary_mode(side("local", hashed), side("remote", bare), auto)
    assert mode == "size" and warnings == [
        "WARNING: --verify auto fell back from hash to size for records.parquet"
    ]
    sizeless = FileEntry("records.parquet", "primary", "file", None)
    mode, warnings = resolve_primary_mode(side("local", sizeless), side("remote", bare), auto)
    assert mode == "parquet" and "parquet rows/cols" in warnings[0]
    for verify in ("hash", "size", "parquet"):
        assert resolve_primary_mode(
            side("local", bare), side("remote", bare), SyncOptions(verify=verify)
        ) == (
            verify,
            [],
        )


def test_the_effective_primary_mode_decides_whether_the_primary_changed():
    local = side("local", entry("records.parquet", sha256="aa"), stats={"rows": 3, "cols": 2})
    remote = side("remote", entry("records.parquet", sha256="bb"), stats={"rows": 3, "cols": 2})
    assert diff_manifests(local, remote, SyncOptions(verify="hash")).sections["primary"].content
    by_size = diff_manifests(local, remote, SyncOptions(verify="size"))
    assert not by_size.changed and by_size.primary_mode == "size"
    assert not diff_manifests(local, remote, SyncOptions(verify="parquet")).changed


def test_each_section_lists_its_one_sided_and_changed_paths_with_counts():
    local = side("local", entry("meta.md"), entry("notes/a.txt"), entry("_derived/x.parquet", sha256="aa"))
    remote = side("remote", entry("meta.md", sha256="bb"), entry("_derived/x.parquet", sha256="cc"))
    remote = Manifest("remote", True, {**remote.files, "notes/b.txt": entry("notes/b.txt")})
    diff = diff_manifests(local, remote, SyncOptions())
    assert diff.sections["meta"].content == ["meta.md"]
    aux = diff.sections["auxiliary"]
    assert (aux.local_only, aux.remote_only, aux.local_count, aux.remote_count) == (
        ["notes/a.txt"],
        ["notes/b.txt"],
        1,
        1,
    )
    assert diff.sections["derived"].content == ["_derived/x.parquet"]
    assert not diff.sections["primary"].changed and not diff.sections["snapshots"].changed
    assert diff.changed and diff.warnings == []


def test_sidecars_compared_by_size_when_their_hashes_are_off():
    local = side("local", entry("meta.md", sha256="aa"), entry("_derived/x.parquet", sha256="aa"))
    remote = side("remote", entry("meta.md", sha256="bb"), entry("_derived/x.parquet", sha256="bb"))
    off = SyncOptions(verify_sidecars=False)
    assert not diff_manifests(local, remote, off).changed
    parts_by_size = diff_manifests(local, remote, SyncOptions(verify_derived_hashes=False))
    assert parts_by_size.sections["meta"].changed and not parts_by_size.sections["derived"].changed


def test_the_log_differs_by_kind_size_or_digest_and_a_missing_log_differs_from_one():
    log = entry(".events.log", 10, "aa")
    assert not diff_manifests(side("local", log), side("remote", log), SyncOptions()).events_changed
    for other in (entry(".events.log", 11, "aa"), entry(".events.log", 10, "bb"), None):
        remote = side("remote", *([other] if other else []))
        diff = diff_manifests(side("local", log), remote, SyncOptions())
        assert diff.events_changed and diff.changed
    assert not diff_manifests(side("local"), side("remote"), SyncOptions()).changed


def test_newer_snapshots_counts_remote_stamps_after_the_newest_local_one():
    def snap(stamp: str) -> FileEntry:
        return entry(f"_snapshots/records-{stamp}.parquet")

    local = side("local", snap("20260101T000000000000"), entry("_snapshots/other.parquet"))
    remote = side("remote", snap("20260101T000000000000"), snap("20260102T000000000000"))
    assert newer_snapshots(local, remote) == 1
    assert newer_snapshots(side("local"), remote) == 2
    assert newer_snapshots(remote, local) == 0


sides = st.dictionaries(st.sampled_from(PATHS), st.tuples(st.integers(0, 3), st.sampled_from(["aa", "bb"])))


def build(name: str, files: dict[str, tuple[int, str]]) -> Manifest:
    return side(name, *(entry(path, size, sha) for path, (size, sha) in files.items()))


@given(sides)
def test_a_manifest_never_differs_from_itself(files: dict):
    local = build("local", files)
    diff = diff_manifests(local, build("remote", files), SyncOptions())
    assert not diff.changed and diff.primary_mode == "hash"


@given(sides, sides)
def test_swapping_the_sides_swaps_the_one_sided_lists_and_keeps_the_rest(mine: dict, theirs: dict):
    forward = diff_manifests(build("local", mine), build("remote", theirs), SyncOptions())
    backward = diff_manifests(build("local", theirs), build("remote", mine), SyncOptions())
    assert forward.changed == backward.changed and forward.events_changed == backward.events_changed
    for name, section in forward.sections.items():
        other = backward.sections[name]
        assert (section.local_only, section.remote_only) == (other.remote_only, other.local_only)
        assert section.content == other.content
    changed_paths = {
        p for s in forward.sections.values() for p in (*s.local_only, *s.remote_only, *s.content)
    }
    expected = {p for p in set(mine) | set(theirs) if p != ".events.log" and mine.get(p) != theirs.get(p)}
    assert changed_paths == expected


def test_an_unreadable_footer_on_either_side_falls_back_to_size():
    a, b = entry("records.parquet", 4, "aa"), entry("records.parquet", 4, "bb")
    stats = {"rows": 3, "cols": 2}
    assert same_content(a, b, "parquet", ({"error": "unreadable"}, stats))
    assert not same_content(a, entry("records.parquet", 5), "parquet", ({"error": "unreadable"}, stats))


def test_the_diff_compares_the_primary_by_its_footers_when_auto_falls_back_to_parquet():
    stats = {"rows": 3, "cols": 2}
    local = side("local", FileEntry("records.parquet", "primary", "file", None, sha256="aa"), stats=stats)
    remote = side("remote", entry("records.parquet", 9, None), stats=dict(stats))
    diff = diff_manifests(local, remote, SyncOptions(verify="auto"))
    assert (diff.primary_mode, diff.changed) == ("parquet", False)
    assert diff.warnings == [
        "WARNING: --verify auto fell back from hash to parquet rows/cols for records.parquet"
    ]
    assert diff.sections["primary"].name == "primary"
    other = side("remote", entry("records.parquet", 9, None), stats={"rows": 4, "cols": 2})
    assert diff_manifests(local, other, SyncOptions(verify="auto")).sections["primary"].content
