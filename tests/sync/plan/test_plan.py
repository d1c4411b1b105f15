"""Pure planning rules: what a pull or push may copy or delete, and what it must refuse."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from usr_harness.sync.inventory.manifest import FileEntry, Manifest
from usr_harness.sync.options import SyncOptions
from usr_harness.sync.plan.diff import diff_manifests
from usr_harness.sync.plan.planner import (
    base_from,
    parquet_changed_since,
    plan_file,
    plan_sync,
    primary_missing,
)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def manifest(
    side: str,
    files: dict[str, str],
    *,
    events: str | None = None,
    prefix: tuple[int, str] | None = None,
    base_log: str | None = None,
):
    """`base_log`: the log of the last sync, whose length this side hashes its own log's start to."""
    from usr_harness.dataset.layout import section_of

    entries = [
        {"path": p, "section": section_of(p), "kind": "file", "size": len(body), "sha256": sha(body)}
        for p, body in files.items()
    ]
    events_info = None
    if events is not None:
        entries.append(
            {
                "path": ".events.log",
                "section": "events",
                "kind": "file",
                "size": len(events),
                "sha256": sha(events),
            }
        )
        events_info = {"size": len(events), "sha256": sha(events), "lines": events.count("\n")}
        if prefix is not None:
            events_info.update(
                {
                    "prefix_len": prefix[0],
                    "prefix_sha256": sha(events[: prefix[0]]),
                    "prefix_ends_line": prefix[0] == 0 or events[prefix[0] - 1] == "\n",
                }
            )
        if base_log is not None and len(base_log) <= len(events):
            cut = len(base_log)
            events_info.update(
                {
                    "base_len": cut,
                    "base_sha256": sha(events[:cut]),
                    "base_ends_line": cut == 0 or events[cut - 1] == "\n",
                }
            )
    return Manifest.from_scan(side, {"exists": bool(entries), "files": entries, "events": events_info})


BASE_FILES = {"records.parquet": "R1", "meta.md": "name: demo\n", "_derived/ns/part-1.parquet": "P1"}


def plan(action, local, remote, base=None, **opts):
    options = SyncOptions(**opts)
    diff = diff_manifests(local, remote, options)
    return plan_sync(action, local, remote, base, options, diff.primary_mode)


def base_of(files):
    return {p: {"sha256": sha(b), "size": len(b)} for p, b in files.items()}


def test_identical_sides_are_a_noop():
    local = manifest("local", BASE_FILES, events="a\n")
    remote = manifest("remote", BASE_FILES, events="a\n", prefix=(2, ""))
    result = plan("pull", local, remote)
    assert result.noop and not result.problems


def test_bootstrap_pull_copies_everything():
    local = manifest("local", {})
    remote = manifest("remote", BASE_FILES, events="a\n", prefix=(0, ""))
    result = plan("pull", local, remote)
    assert sorted(result.copy) == sorted([*BASE_FILES, ".events.log"])
    assert not result.problems


def test_remote_new_part_is_pulled_and_log_extension_accepted():
    local = manifest("local", BASE_FILES, events="a\n")
    remote_files = {**BASE_FILES, "_derived/ns/part-2.parquet": "P2"}
    remote = manifest("remote", remote_files, events="a\nb\n", prefix=(2, ""))
    result = plan("pull", local, remote, base_of(BASE_FILES))
    assert result.copy == ["_derived/ns/part-2.parquet", ".events.log"]
    assert not result.problems


@pytest.mark.parametrize("force", [False, True])
def test_local_part_added_since_base_is_kept_by_a_pull(force):
    local = manifest("local", {**BASE_FILES, "_derived/ns/part-9.parquet": "L"}, events="a\n")
    remote = manifest("remote", BASE_FILES, events="a\n", prefix=(2, ""))
    result = plan("pull", local, remote, base_of(BASE_FILES), force=force)
    assert result.kept == ["_derived/ns/part-9.parquet"]
    assert result.noop and not result.problems and not result.forced


def test_local_only_part_without_any_base_is_still_divergence():
    local = manifest("local", {**BASE_FILES, "_derived/ns/part-9.parquet": "L"}, events="a\n")
    remote = manifest("remote", BASE_FILES, events="a\n", prefix=(2, ""))
    result = plan("pull", local, remote)
    assert result.first_failure()[0] == "diverged" and not result.kept
    assert result.first_failure()[2] == ["_derived/ns/part-9.parquet"]


def test_remote_file_added_since_base_is_kept_by_a_push():
    local = manifest("local", BASE_FILES, events="a\n", prefix=(2, ""))
    remote = manifest("remote", {**BASE_FILES, "_artifacts/x.json": "{}"}, events="a\n")
    result = plan("push", local, remote, base_of(BASE_FILES))
    assert result.kept == ["_artifacts/x.json"] and result.noop and not result.problems


def test_remote_only_file_without_base_is_not_deleted_by_push_without_force_but_is_with_it():
    local = manifest("local", BASE_FILES, events="a\n", prefix=(2, ""))
    remote = manifest("remote", {**BASE_FILES, "_artifacts/x.json": "{}"}, events="a\n")
    assert plan("push", local, remote).first_failure()[0] == "diverged"
    forced = plan("push", local, remote, force=True)
    assert forced.delete == ["_artifacts/x.json"] and forced.forced == ["_artifacts/x.json"]


@pytest.mark.parametrize("action", ["pull", "push"])
def test_each_side_adds_a_part_the_source_part_is_copied_the_target_part_kept(action):
    mine = {**BASE_FILES, "_derived/ns/part-L.parquet": "L"}
    theirs = {**BASE_FILES, "_derived/ns/part-R.parquet": "R"}
    local = manifest("local", mine, events="a\n", prefix=(2, ""))
    remote = manifest("remote", theirs, events="a\n", prefix=(2, ""))
    result = plan(action, local, remote, base_of(BASE_FILES))
    copied, kept = ("part-R", "part-L") if action == "pull" else ("part-L", "part-R")
    assert result.copy == [f"_derived/ns/{copied}.parquet"]
    assert result.kept == [f"_derived/ns/{kept}.parquet"]
    assert not result.delete and not result.problems


@pytest.mark.parametrize("action", ["pull", "push"])
def test_same_bytes_added_on_both_sides_is_no_conflict(action):
    both = {**BASE_FILES, "_derived/ns/part-2.parquet": "P2", "_artifacts/a.txt": "x"}
    local = manifest("local", both, events="a\n", prefix=(2, ""))
    remote = manifest("remote", both, events="a\n", prefix=(2, ""))
    result = plan(action, local, remote, base_of(BASE_FILES))
    assert result.noop and not result.problems and not result.kept


@pytest.mark.parametrize("action", ["pull", "push"])
@pytest.mark.parametrize("path", ["_derived/ns/part-2.parquet", "_artifacts/a.txt"])
def test_different_bytes_added_on_both_sides_is_divergence(action, path):
    local = manifest("local", {**BASE_FILES, path: "mine"}, events="a\n", prefix=(2, ""))
    remote = manifest("remote", {**BASE_FILES, path: "theirs"}, events="a\n", prefix=(2, ""))
    family, message, paths = plan(action, local, remote, base_of(BASE_FILES)).first_failure()
    assert (family, paths) == ("diverged", [path])
    assert "added on both sides since the last sync with different bytes" in message
    forced = plan(action, local, remote, base_of(BASE_FILES), force=True)
    assert forced.copy == [path] and forced.forced == [path]


def test_file_deleted_at_the_remote_since_base_is_deleted_by_a_pull():
    files = {**BASE_FILES, "_artifacts/x.json": "{}"}
    local = manifest("local", files, events="a\n")
    remote = manifest("remote", BASE_FILES, events="a\n", prefix=(2, ""))
    result = plan("pull", local, remote, base_of(files))
    assert result.delete == ["_artifacts/x.json"] and not result.kept and not result.problems


def test_file_deleted_at_source_since_base_is_deleted_at_target():
    files = {**BASE_FILES, "_artifacts/x.json": "{}"}
    local = manifest("local", BASE_FILES, events="a\n", prefix=(2, ""))
    remote = manifest("remote", files, events="a\n")
    result = plan("push", local, remote, base_of(files))
    assert result.delete == ["_artifacts/x.json"] and not result.problems


def test_same_size_flip_in_a_part_is_corruption_even_with_force():
    base = base_of(BASE_FILES)
    local = manifest("local", BASE_FILES, events="a\n")
    remote = manifest(
        "remote", {**BASE_FILES, "_derived/ns/part-1.parquet": "PX"}, events="a\n", prefix=(2, "")
    )
    for force in (False, True):
        result = plan("pull", local, remote, base, force=force)
        family, message, paths = result.first_failure()
        assert family == "sidecars" and paths == ["_derived/ns/part-1.parquet"]
        assert message.startswith("remote '_derived/ns/part-1.parquet' changed")
        assert "_derived/ns/part-1.parquet" not in result.copy


def test_part_differing_without_base_is_still_refused():
    local = manifest("local", BASE_FILES)
    remote = manifest("remote", {**BASE_FILES, "_derived/ns/part-1.parquet": "PX"})
    assert plan("pull", local, remote).first_failure()[0] == "sidecars"


def test_content_hash_blind_spot_under_no_derived_hashes():
    local = manifest("local", BASE_FILES)
    remote = manifest("remote", {**BASE_FILES, "_derived/ns/part-1.parquet": "PX"})
    result = plan("pull", local, remote, verify_derived_hashes=False)
    assert result.noop and not result.problems


def test_local_primary_changed_since_base_diverges_on_pull():
    local = manifest("local", {**BASE_FILES, "records.parquet": "RL"}, events="a\n")
    remote = manifest("remote", {**BASE_FILES, "records.parquet": "RR"}, events="a\n", prefix=(2, ""))
    failure = plan("pull", local, remote, base_of(BASE_FILES)).first_failure()
    assert failure[0] == "diverged" and failure[2] == ["records.parquet"]


def test_primary_overwritten_when_target_matches_base():
    local = manifest("local", BASE_FILES, events="a\n")
    remote = manifest("remote", {**BASE_FILES, "records.parquet": "R2"}, events="a\n", prefix=(2, ""))
    assert plan("pull", local, remote, base_of(BASE_FILES)).copy == ["records.parquet"]


@pytest.mark.parametrize(
    ("local_log", "remote_log", "token"),
    [
        ("a\nb\n", "a\n", "does not extend"),
        ("a\nb\n", "a\nc\n", "does not extend"),
        ("a\nb\n", "a\nc\nd\n", "not a prefix"),
    ],
)
def test_event_log_rules_on_pull(local_log, remote_log, token):
    local = manifest("local", BASE_FILES, events=local_log)
    prefix = (len(local_log), "") if len(remote_log) >= len(local_log) else None
    remote = manifest("remote", BASE_FILES, events=remote_log, prefix=prefix)
    family, message, paths = plan("pull", local, remote, base_of(BASE_FILES)).first_failure()
    assert family == "events" and token in message and paths == [".events.log"]


def test_missing_log_on_existing_dataset_is_divergence():
    local = manifest("local", BASE_FILES)
    remote = manifest("remote", BASE_FILES, events="a\n", prefix=(0, ""))
    failure = plan("push", local, remote, base_of(BASE_FILES)).first_failure()
    assert failure[0] == "diverged" and "local .events.log is missing" in failure[1]


def test_symlink_entry_is_refused():
    local = manifest("local", BASE_FILES)
    remote = Manifest.from_scan(
        "remote",
        {
            "exists": True,
            "files": [
                {
                    "path": "_derived/ns/evil.parquet",
                    "section": "derived",
                    "kind": "symlink",
                    "size": 3,
                    "link": "/etc/passwd",
                }
            ],
        },
    )
    family, message, _ = plan("pull", local, remote).first_failure()
    assert family == "sidecars" and "symlink entry" in message


def test_primary_only_ignores_sidecars_and_events():
    local = manifest("local", {"records.parquet": "R1"}, events="a\n")
    remote = manifest("remote", {**BASE_FILES, "records.parquet": "R1"}, events="zz\n")
    result = plan("pull", local, remote, verify_sidecars=False, primary_only=True)
    assert result.noop and not result.problems


def test_primary_missing_token():
    assert primary_missing("pull", manifest("local", BASE_FILES), manifest("remote", {})) == (
        "remote records.parquet is missing"
    )
    assert primary_missing("push", manifest("local", {}), manifest("remote", BASE_FILES)) == (
        "local records.parquet is missing"
    )


def test_base_keeps_only_agreed_files():
    local = manifest("local", {**BASE_FILES, "meta.md": "other"})
    remote = manifest("remote", BASE_FILES)
    assert set(base_from(remote, local)) == {"records.parquet", "_derived/ns/part-1.parquet"}


@pytest.mark.parametrize("action", ["pull", "push"])
@pytest.mark.parametrize("missing", ["local", "remote"])
def test_vanished_derived_is_refused_unless_forced(action, missing):
    without = {p: b for p, b in BASE_FILES.items() if not p.startswith("_derived/")}
    local = manifest("local", without if missing == "local" else BASE_FILES, events="a\n", prefix=(2, ""))
    remote = manifest("remote", without if missing == "remote" else BASE_FILES, events="a\n", prefix=(2, ""))
    family, message, _ = plan(action, local, remote, base_of(BASE_FILES)).first_failure()
    assert family == "sidecars" and f"{missing} _derived is missing" in message
    assert not plan(action, local, remote, base_of(BASE_FILES), force=True).problems


def pending(side_manifest: Manifest, *paths: str) -> Manifest:
    """The manifest as the agent sends it when it still hashes `paths` in the background."""
    files = dict(side_manifest.files)
    for path in paths:
        files[path] = replace(files[path], sha256=None, hash_pending=True)
    return replace(side_manifest, files=files)


def test_a_pending_hash_never_passes_for_the_same_content():
    local = manifest("local", BASE_FILES, events="a\n")
    remote = pending(
        manifest("remote", BASE_FILES, events="a\n", prefix=(2, "")), "_derived/ns/part-1.parquet"
    )
    result = plan("pull", local, remote, base_of(BASE_FILES))
    assert [(p.family, p.path) for p in result.problems] == [("sidecars", "_derived/ns/part-1.parquet")]
    assert diff_manifests(local, remote, SyncOptions()).changed
    settled = remote.with_hashes({"_derived/ns/part-1.parquet": sha("P1")})
    assert plan("pull", local, settled, base_of(BASE_FILES)).noop


def test_pending_hashes_filled_in_make_the_manifest_whole_again():
    remote = manifest("remote", BASE_FILES, events="a\n")
    waiting = pending(remote, "records.parquet", "meta.md")
    assert waiting.pending_hashes == ["records.parquet", "meta.md"]
    settled = waiting.with_hashes({"records.parquet": sha("R1"), "meta.md": sha("name: demo\n")})
    assert settled == remote and settled.pending_hashes == []


def test_only_parquet_changed_since_the_base_predicts_a_decode():
    local = manifest("local", {**BASE_FILES, "_artifacts/notes.txt": "new"})
    base = base_from(local, local)
    assert not parquet_changed_since(local, base)
    assert parquet_changed_since(local, None)
    grown = manifest("local", {**BASE_FILES, "_derived/ns/part-2.parquet": "P2"})
    assert parquet_changed_since(grown, base)
    rewritten = manifest("local", {**BASE_FILES, "records.parquet": "R2"})
    assert parquet_changed_since(rewritten, base)


LOG = "a\nb\n"


def logged_base(files: dict[str, str] = BASE_FILES, log: str = LOG) -> dict[str, dict]:
    return {**base_of(files), ".events.log": {"sha256": sha(log), "size": len(log)}}


@pytest.mark.parametrize("action", ["pull", "push"])
def test_lines_the_target_appended_since_base_are_kept(action):
    grown = LOG + "t\n"
    target_side, source_side = ("local", "remote") if action == "pull" else ("remote", "local")
    target = manifest(target_side, BASE_FILES, events=grown, base_log=LOG)
    source = manifest(source_side, BASE_FILES, events=LOG, base_log=LOG)
    local, remote = (target, source) if action == "pull" else (source, target)
    result = plan(action, local, remote, logged_base())
    assert result.kept == [".events.log"] and result.noop and not result.problems


@pytest.mark.parametrize("action", ["pull", "push"])
def test_logs_grown_on_both_sides_since_base_are_diverged_and_name_the_merge(action):
    local = manifest("local", BASE_FILES, events=LOG + "l\n", prefix=(len(LOG) + 2, ""), base_log=LOG)
    remote = manifest("remote", BASE_FILES, events=LOG + "r\n", prefix=(len(LOG) + 2, ""), base_log=LOG)
    family, message, paths = plan(action, local, remote, logged_base()).first_failure()
    assert (family, paths) == ("diverged", [".events.log"])
    assert "not a prefix" in message and "`usr events merge DATASET REMOTE` here merges them" in message
    assert plan(action, local, remote, logged_base(), force=True).first_failure()[0] == "diverged"


def test_a_target_log_that_rewrote_the_base_is_still_an_events_error():
    local = manifest("local", BASE_FILES, events="a\nX\nl\n", base_log=LOG)
    remote = manifest("remote", BASE_FILES, events=LOG, prefix=(len(LOG), ""), base_log=LOG)
    family, message, _ = plan("pull", local, remote, logged_base()).first_failure()
    assert family == "events" and "does not extend" in message


def test_a_source_log_shorter_than_the_base_is_still_an_events_error():
    local = manifest("local", BASE_FILES, events=LOG, base_log=LOG)
    remote = manifest("remote", BASE_FILES, events="a\n", base_log=LOG)
    family, message, _ = plan("pull", local, remote, logged_base()).first_failure()
    assert family == "events" and "does not extend" in message


def test_a_kept_log_leaves_the_source_log_as_the_agreed_base():
    remote = manifest("remote", BASE_FILES, events=LOG)
    local = manifest("local", BASE_FILES, events=LOG + "l\n")
    agreed = base_from(remote, local, [".events.log"])
    assert agreed[".events.log"] == {"sha256": sha(LOG), "size": len(LOG)}
    assert ".events.log" not in base_from(remote, local)


NAMESAKE = {
    "push": "the remote has a different dataset under this id (its event log does not start with ours, "
    "and no sync with this remote is recorded here): push this one under another id, or pull "
    "the remote's into another root to compare them",
    "pull": "the local dataset under this id is a different one (its event log does not start with the "
    "remote's, and no sync with this remote is recorded here): pull into another root, or move "
    "the local one aside first",
}


# A path's state on one side relative to the base: gone, as it was, rewritten, or (not in base) added.
SIDE_STATE = st.sampled_from(["gone", "same", "edited"])
PATHS = [f"_artifacts/f{i}.txt" for i in range(4)] + [f"_derived/ns/part-{i}.parquet" for i in range(4)]


@st.composite
def three_way(draw):
    """A base and each side's files after independent additions, edits and deletions since it."""
    in_base = draw(st.lists(st.sampled_from(PATHS), unique=True))
    base_files = {**BASE_FILES, **{p: f"base-{p}" for p in in_base}}
    sides = []
    for side in ("local", "remote"):
        files = dict(BASE_FILES)
        for path in in_base:
            state = draw(SIDE_STATE)
            if state != "gone":
                files[path] = base_files[path] if state == "same" else f"{side}-{path}"
        free = [p for p in PATHS if p not in in_base]
        for path in draw(st.lists(st.sampled_from(free), unique=True) if free else st.just([])):
            files[path] = draw(st.sampled_from([f"{side}-{path}", f"same-{path}"]))
        sides.append(manifest(side, files, events="a\n", prefix=(2, "")))
    return base_of(base_files), sides[0], sides[1]


@settings(max_examples=150, deadline=None)
@given(case=three_way(), action=st.sampled_from(["pull", "push"]), force=st.booleans())
def test_an_addition_is_never_a_deletion_on_the_other_side(case, action, force):
    base, local, remote = case
    source, target = (remote, local) if action == "pull" else (local, remote)
    result = plan(action, local, remote, base, force=force)
    assert set(result.delete) <= set(base), "a sync deleted a path the base does not have"
    for path in set(target.files) - set(source.files) - set(base):
        assert path in result.kept and path not in result.delete
    for path in set(source.files) - set(target.files) - set(base):
        assert path in result.copy
    for path in set(result.kept):
        assert path in target.files and path not in base and path not in result.copy


def one_file(side: str, body: str | None, *, hashed: bool = True) -> Manifest:
    """A single file as file mode hands it to the plan: one entry in the primary's place."""
    if body is None:
        return Manifest(side, False)
    entry = {"path": "records.parquet", "section": "primary", "kind": "file", "size": len(body)}
    return Manifest.from_scan(
        side, {"exists": True, "files": [{**entry, "sha256": sha(body) if hashed else None}]}
    )


NAMES = {"local": "/laptop/f.csv", "remote": "/hpc/f.csv"}


def file_plan(action: str, local: str | None, remote: str | None, base: str | None = None, **kw):
    options = {"names": NAMES, "primary_mode": "hash", "force": False, **kw}
    recorded = None if base is None else {"sha256": sha(base), "size": len(base)}
    return plan_file(action, one_file("local", local), one_file("remote", remote), recorded, **options)


@pytest.mark.parametrize(("action", "source"), [("push", "local"), ("pull", "remote")])
def test_a_file_missing_at_its_source_is_a_verify_refusal_on_that_side(action: str, source: str):
    plan = file_plan(action, None, None)
    [problem] = plan.problems
    assert (problem.family, problem.side, problem.path) == ("verify", source, NAMES[source])
    assert problem.message == f"{source} {NAMES[source]} is missing"


def test_an_identical_file_moves_nothing_whatever_the_base():
    for base in (None, "old"):
        plan = file_plan("push", "same", "same", base)
        assert plan.noop and not plan.problems and not plan.forced


@pytest.mark.parametrize(("action", "target"), [("push", "remote"), ("pull", "local")])
def test_a_file_is_copied_to_a_missing_target_or_one_still_at_the_base(action: str, target: str):
    assert file_plan(
        action, None if target == "local" else "new", None if target == "remote" else "new"
    ).copy == [NAMES[target]]
    bodies = ("new", "old") if action == "push" else ("old", "new")
    assert file_plan(action, *bodies, base="old").copy == [NAMES[target]]


@pytest.mark.parametrize("base", [None, "older"])
def test_a_target_changed_since_the_base_is_diverged_unless_forced(base: str | None):
    plan = file_plan("push", "mine", "theirs", base)
    [problem] = plan.problems
    assert (problem.family, problem.side, problem.path) == ("diverged", "remote", "/hpc/f.csv")
    assert problem.message == (
        "remote /hpc/f.csv changed since the last sync; refusing to overwrite it (use --force to override)"
    )
    forced = file_plan("push", "mine", "theirs", base, force=True)
    assert forced.copy == forced.forced == ["/hpc/f.csv"] and not forced.problems


def test_a_target_without_a_digest_is_judged_against_the_base_by_size():
    base = {"sha256": sha("abc"), "size": 3}
    local, remote = one_file("local", "abcd"), one_file("remote", "xyz", hashed=False)
    plan = plan_file("push", local, remote, base, names=NAMES, primary_mode="hash", force=False)
    assert plan.copy == ["/hpc/f.csv"] and not plan.problems


def test_the_effective_mode_decides_sameness():
    plan = file_plan("push", "abc", "xyz", primary_mode="size")
    assert plan.noop and not plan.problems


@given(
    st.sampled_from(["push", "pull"]),
    st.sampled_from([None, "a", "b"]),
    st.sampled_from([None, "a", "b"]),
    st.sampled_from([None, "a", "b"]),
    st.booleans(),
)
def test_a_file_plan_either_refuses_moves_nothing_or_copies_to_the_target(action, local, remote, base, force):
    plan = file_plan(action, local, remote, base, force=force)
    source, target = (remote, local) if action == "pull" else (local, remote)
    target_side = "local" if action == "pull" else "remote"
    assert len(plan.problems) + bool(plan.copy) <= 1 and not plan.delete and not plan.kept
    if source is None:
        assert plan.problems[0].family == "verify"
    elif source == target:
        assert plan.noop and not plan.problems
    elif target is not None and target != base and not force:
        assert plan.problems[0].family == "diverged"
    else:
        assert plan.copy == [NAMES[target_side]]
        assert plan.forced == ([NAMES[target_side]] if target is not None and target != base else [])


@pytest.mark.parametrize(
    ("action", "says"),
    [
        ("push", "the remote has a different dataset"),
        ("pull", "the local dataset under this id is a different one"),
    ],
)
def test_two_datasets_made_apart_under_one_id_are_named_as_such(action, says):
    """No sync recorded and the first lines differ: not a log that failed to grow, another dataset."""

    def made(side: str, log: str) -> Manifest:
        built = manifest(side, BASE_FILES, events=log)
        return replace(built, events=replace(built.events, first_sha256=sha(log.split("\n")[0] + "\n")))

    local, remote = made("local", "init-here\nl\n"), made("remote", "init-there\nr\nr2\n")
    family, message, paths = plan(action, local, remote, None).first_failure()
    assert (family, paths) == ("events", [".events.log"])
    assert message.startswith(says) and "does not start with" in message and "another" in message
    assert message == NAMESAKE[action]
    same_origin = made("remote", "init-here\nr\nr2\n")
    pair = (local, same_origin)
    assert "different" not in plan(action, *pair, None).first_failure()[1]


def test_refusals_carry_their_path_their_corruption_flag_and_a_message_naming_both_sides():
    base = base_of(BASE_FILES)
    part = "_derived/ns/part-1.parquet"
    flipped = manifest("remote", {**BASE_FILES, part: "PX"}, events="a\n", prefix=(2, ""))
    local = manifest("local", BASE_FILES, events="a\n")
    (changed,) = plan("pull", local, flipped, base).problems
    assert (changed.path, changed.corruption) == (part, True)
    assert changed.message.endswith("its bytes differ from the last sync) - not propagated")
    (differs,) = plan(
        "pull", manifest("local", BASE_FILES), manifest("remote", {**BASE_FILES, part: "PX"})
    ).problems
    assert (differs.family, differs.path, differs.corruption) == ("sidecars", part, True)
    assert differs.message == (
        f"'{part}' differs between local and remote; derived files are immutable, "
        "so one copy is corrupt - not propagated"
    )
    meta = {**BASE_FILES, "meta.md": "edited\n"}
    (edited,) = plan(
        "pull", manifest("local", meta), manifest("remote", {**BASE_FILES, "meta.md": "x\n"}), base
    ).problems
    assert edited.message == (
        "local 'meta.md' changed since the last sync; refusing to overwrite it (use --force to override)"
    )
    (extra,) = plan(
        "push", manifest("local", BASE_FILES), manifest("remote", {**BASE_FILES, "x.md": "y"})
    ).problems
    assert extra.message == (
        "remote 'x.md' is not on the local side and not in the last sync; "
        "refusing to delete it (use --force to override)"
    )


def test_a_vanished_derived_counts_its_parts_and_is_corruption():
    without = {p: b for p, b in BASE_FILES.items() if not p.startswith("_derived/")}
    local = manifest("local", without, events="a\n", prefix=(2, ""))
    remote = manifest("remote", BASE_FILES, events="a\n", prefix=(2, ""))
    (problem,) = plan("push", local, remote, base_of(BASE_FILES)).problems
    assert (problem.path, problem.corruption) == ("_derived", True)
    assert problem.message == (
        "local _derived is missing (1 overlay part(s) at the last sync); "
        "refusing to sync an incomplete dataset (use --force to accept the loss)"
    )


def test_a_log_that_is_not_a_regular_file_is_refused_as_events_corruption():
    local = manifest("local", BASE_FILES, events="a\n")
    link = {"path": ".events.log", "section": "events", "kind": "symlink", "size": 2, "link": "/x"}
    remote = manifest("remote", BASE_FILES)
    remote = replace(
        remote,
        files={
            **remote.files,
            ".events.log": Manifest.from_scan("remote", {"files": [link]}).files[".events.log"],
        },
    )
    (problem,) = [p for p in plan("pull", local, remote).problems if p.path == ".events.log"]
    assert (problem.family, problem.path, problem.corruption) == ("events", ".events.log", True)
    assert problem.message == "remote symlink entry '.events.log' refused"


def test_a_log_missing_at_the_source_or_the_target():
    with_log = manifest("remote", BASE_FILES, events="a\n", prefix=(0, ""))
    (problem,) = plan("push", manifest("local", BASE_FILES), with_log, base_of(BASE_FILES)).problems
    assert (problem.family, problem.path) == ("diverged", ".events.log")
    only_meta = manifest("local", {"meta.md": "name: demo\n"})
    shrunk = plan("push", only_meta, with_log).problems
    assert ".events.log" not in [p.path for p in shrunk], "no records here: no history to guard"
    source = manifest("local", BASE_FILES, events="a\n")
    (missing,) = plan("push", source, manifest("remote", BASE_FILES), base_of(BASE_FILES)).problems
    assert (missing.family, missing.path) == ("diverged", ".events.log")
    assert (
        missing.message == "remote .events.log is missing; refusing to overwrite it (use --force to override)"
    )
    forced = plan("push", source, manifest("remote", BASE_FILES), base_of(BASE_FILES), force=True)
    assert forced.copy == [".events.log"] and forced.forced == [".events.log"]
    assert sorted(plan("push", source, manifest("remote", {})).copy) == sorted([*BASE_FILES, ".events.log"])


def test_the_primary_is_compared_by_its_footers_in_parquet_mode():
    """Different sizes, same rows and columns: parquet mode says same, so nothing moves."""
    stats = {"rows": 3, "cols": 2}
    local = replace(manifest("local", {"records.parquet": "R1"}), primary_stats=stats)
    remote = replace(manifest("remote", {"records.parquet": "R22"}), primary_stats=dict(stats))
    options = SyncOptions(verify="auto")
    same = plan_sync("pull", local, remote, None, options, "parquet")
    assert same.noop and not same.problems
    names = {"local": "records.parquet", "remote": "records.parquet"}
    one = plan_file("pull", local, remote, None, names=names, primary_mode="parquet", force=False)
    assert one.noop and not one.problems and one.action == "pull"
    grown = replace(remote, primary_stats={"rows": 4, "cols": 2})
    assert plan_sync("pull", local, grown, base_of({"records.parquet": "R1"}), options, "parquet").copy == [
        "records.parquet"
    ]


def test_the_base_agrees_only_on_the_same_bytes_and_records_their_digest_and_size():
    local = manifest("local", {"meta.md": "ab"})
    assert base_from(manifest("remote", {"meta.md": "ab"}), local) == {
        "meta.md": {"sha256": sha("ab"), "size": 2}
    }
    assert base_from(manifest("remote", {"meta.md": "xy"}), local) == {}


def test_a_refused_primary_entry_is_a_verify_failure():
    local = manifest("local", BASE_FILES)
    remote = manifest("remote", BASE_FILES)
    link = FileEntry("records.parquet", "primary", "symlink", 2, link="/x")
    remote = replace(remote, files={**remote.files, "records.parquet": link})
    (problem,) = plan("pull", local, remote).problems
    assert (problem.family, problem.path) == ("verify", "records.parquet")


def test_a_target_changed_since_the_base_is_overwritten_under_force():
    base = base_of(BASE_FILES)
    local = manifest("local", {**BASE_FILES, "meta.md": "edited\n"})
    remote = manifest("remote", {**BASE_FILES, "meta.md": "x\n"})
    forced = plan("pull", local, remote, base, force=True)
    assert (forced.copy, forced.forced, forced.problems) == (["meta.md"], ["meta.md"], [])


def test_a_log_goes_to_an_existing_target_that_has_no_records_yet():
    source = manifest("local", BASE_FILES, events="a\n")
    target = manifest("remote", {"meta.md": "name: demo\n"})
    assert target.exists and target.primary is None
    assert ".events.log" in plan("push", source, target).copy
