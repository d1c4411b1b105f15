"""Flag conflicts are usage errors found before any network call."""

from __future__ import annotations

import pytest

from usr_harness.errors import UsageError
from usr_harness.sync.options import SyncOptions


@pytest.mark.parametrize(
    ("opts", "action", "token"),
    [
        (SyncOptions(primary_only=True), "pull", "--primary-only needs --no-verify-sidecars"),
        (SyncOptions(skip_snapshots=True), "push", "--skip-snapshots needs --no-verify-sidecars"),
        (SyncOptions(verify_sidecars=False, verify_derived_hashes=True), "pull", "--verify-derived-hashes"),
        (SyncOptions(verify="md5"), "diff", "--verify must be one of"),
        (SyncOptions(strict_bootstrap_id=True), "push", "pull only"),
        (SyncOptions(lock_timeout=-1), "pull", "--lock-timeout"),
    ],
)
def test_conflicts_are_usage_errors(opts, action, token):
    with pytest.raises(UsageError, match=token.replace("-", r"\-")):
        opts.check(action)


def test_defaults_are_strict():
    opts = SyncOptions().check("pull")
    assert opts.verify_block() == {"primary": "hash", "sidecars": "strict", "content_hashes": "on"}
    assert SyncOptions(verify_sidecars=False).verify_block()["content_hashes"] == "off"


def test_sections_and_compare_modes():
    assert SyncOptions(verify_sidecars=False, primary_only=True).included_sections() == ("primary",)
    assert "snapshots" not in SyncOptions(verify_sidecars=False, skip_snapshots=True).included_sections()
    assert SyncOptions(verify_derived_hashes=False).compare_mode("derived") == "size"
    assert SyncOptions(verify_derived_hashes=False).compare_mode("meta") == "hash"
