"""File mode's one-entry manifests (pure): what the shared diff, plan and audit are handed for one file."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from usr_harness.sync.modes.file_mode import FileSide, effective_mode
from usr_harness.sync.options import VERIFY_MODES, SyncOptions
from usr_harness.sync.plan.diff import diff_manifests

file_sides = st.one_of(
    st.just(FileSide(False)),
    st.builds(
        FileSide,
        st.just(True),
        st.integers(0, 3),
        st.sampled_from([None, "aa", "bb"]),
        st.sampled_from([None, {"rows": 1, "cols": 2}, {"rows": 2, "cols": 2}, {"error": "unreadable"}]),
    ),
)


def test_a_file_stands_in_the_primary_place_with_its_parquet_counts():
    manifest = FileSide(True, 3, "aa", {"rows": 1, "cols": 2}).manifest("remote")
    assert manifest.side == "remote" and manifest.exists
    assert (manifest.primary.section, manifest.primary.size, manifest.primary.sha256) == ("primary", 3, "aa")
    assert manifest.primary_stats == {"rows": 1, "cols": 2} and list(manifest.files) == ["records.parquet"]
    missing = FileSide(False).manifest("local")
    assert not missing.exists and missing.primary is None and missing.primary_stats is None


@given(st.sampled_from(VERIFY_MODES), file_sides, file_sides)
def test_the_diff_compares_a_file_the_way_its_own_mode_ladder_says(
    verify: str, local: FileSide, remote: FileSide
):
    diff = diff_manifests(local.manifest("local"), remote.manifest("remote"), SyncOptions(verify=verify))
    mode, _warnings = effective_mode(verify, local, remote, "f")
    assert diff.primary_mode == mode
    assert set(diff.sections["primary"].local_only) == (
        {"records.parquet"} if local.exists and not remote.exists else set()
    )
    if not (local.exists and remote.exists):
        assert diff.changed == (local.exists != remote.exists)
