"""Every corruption of the catalogue, on either side, against diff / pull / push / validate.

Scenario of every expectation: both sides in sync (a successful pull recorded the
base), then one corruption on one side (the remote one through SSH), then the
command on the local machine. An error outcome must leave both trees exactly as
they were; `blind` under a weaker profile is recorded as a known blind spot
(verdict unknown), never as a pass.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from usr_harness.corrupt.catalogue import CATALOGUE, Corruption, apply
from usr_harness.corrupt.expectations import BLIND, CHANGED, KEPT, NA
from usr_harness.corrupt.remote_tree import RemoteTree
from usr_harness.corrupt.tree import LocalTree
from usr_harness.mock.batch import ensure_overlay_namespaces
from usr_harness.report.fingerprint import fingerprint_tree

from .conftest import DATASET, FOREIGN_FAILURES, Sync

pytestmark = [
    pytest.mark.drill,
    pytest.mark.ssh,
    pytest.mark.corruption,
    pytest.mark.enforces("docs/operations/sync/README.md#default-sync-contract"),
]

PROFILE_FLAGS = {
    "strict": (),
    "no-derived-hashes": ("--no-verify-derived-hashes",),
    "no-sidecars": ("--no-verify-sidecars",),
    "size": ("--verify", "size"),
}
SECTION_KEYS = {
    "primary": "primary",
    "meta": "meta",
    "events": ".events.log",
    "snapshots": "_snapshots",
    "derived": "_derived",
    "auxiliary": "_auxiliary",
}


def _profiles(entry: Corruption, side: str, command: str, scale: str) -> list[str]:
    """Strict always; weaker profiles only where they change the expectation (all of them above small)."""
    strict = entry.expect(side, command).outcome
    return [
        name
        for name in PROFILE_FLAGS
        if name == "strict" or scale != "small" or entry.expect(side, command, name).outcome != strict
    ]


def _seen(sync: Sync, observed: str, result, before) -> bool:
    """A change is seen when reported as changed, or when the engine refuses over it touching nothing."""
    if observed == CHANGED:
        return True
    return not result.ok and result.family not in FOREIGN_FAILURES and sync.prints() == before


class Snapshot:
    """Both datasets roots copied aside (fifos and symlinks kept): each command starts from one state."""

    def __init__(self, sync: Sync, folder: Path) -> None:
        folder.mkdir()
        self.pairs = [(sync.local_root, folder / "local"), (sync.remote_root, folder / "remote")]
        for live, kept in self.pairs:
            subprocess.run(["cp", "-a", str(live), str(kept)], check=True)

    def restore(self) -> None:
        for live, kept in self.pairs:
            shutil.rmtree(live)
            subprocess.run(["cp", "-a", str(kept), str(live)], check=True)


def _observe(sync: Sync, entry: Corruption, command: str, flags: tuple[str, ...]) -> tuple[str, object]:
    result = sync.validate("--strict") if command == "validate" else getattr(sync, command)(*flags)
    if not result.ok:
        return result.family or "unknown", result
    if command == "validate":
        return "unchanged", result
    data = result.audit["data"]
    if command == "diff":
        section = data.get(SECTION_KEYS.get(entry.section, ""), {})
        return (CHANGED if section.get("changed") else "unchanged"), result
    if data["transfer_state"] == "TRANSFERRED":
        return CHANGED, result
    return (KEPT if data.get("kept", {}).get("paths") else "unchanged"), result


CASES = [(entry, side) for entry in CATALOGUE for side in ("local", "remote")]


@pytest.mark.parametrize(("entry", "side"), CASES, ids=[f"{e.id}-{s}" for e, s in CASES])
def test_corruption_is_detected_as_declared(
    sync: Sync, entry: Corruption, side: str, drill_scale, request, tmp_path
):
    sync.hpc_rounds(0, 3)
    assert sync.pull().ok
    ensure_overlay_namespaces(sync.local_root, ["densegen", "infer"])
    if side == "remote":
        with sync.remote.session() as session:
            applied = apply(entry, RemoteTree(session, str(sync.remote_root)), DATASET, sync.record.seed)
    else:
        applied = apply(entry, LocalTree(sync.local_root), DATASET, sync.record.seed)
    snapshot = Snapshot(sync, tmp_path / "kept")
    scale = request.config.getoption("--drill-scale")
    expected_rows, observed_rows, blind_spots, unjudged, failures = {}, {}, [], [], []
    for command in ("diff", "pull", "push", "validate"):
        for profile in _profiles(entry, side, command, scale):
            expected = entry.expect(side, command, profile)
            key = f"{command}/{profile}"
            expected_rows[key] = expected.outcome
            if expected.outcome == NA:
                continue
            before = sync.prints()
            observed, result = _observe(sync, entry, command, PROFILE_FLAGS[profile])
            observed_rows[key] = observed
            if observed == "unsupported":
                unjudged.append(f"{key} ({' '.join(PROFILE_FLAGS[profile])})")
            elif expected.is_error:
                if not sync.refused(result, expected.outcome):
                    failures.append(
                        f"{key}: expected {expected.outcome}, got {observed}: {result.message[-300:]}"
                    )
                elif expected.token and not sync.says(result, expected.token):
                    failures.append(f"{key}: message lacks {expected.token!r}: {result.message[-300:]}")
                elif sync.prints() != before:
                    failures.append(f"{key}: failed with {observed} but changed a side")
            elif expected.outcome == CHANGED and not _seen(sync, observed, result, before):
                failures.append(
                    f"{key}: expected the change to be seen, got {observed}: {result.message[-300:]}"
                )
            elif expected.outcome == KEPT and (observed != KEPT or sync.prints() != before):
                failures.append(f"{key}: expected the addition kept, untouched, got {observed}")
            elif expected.outcome == BLIND and observed == "unchanged":
                blind_spots.append(key)
            snapshot.restore()
    sync.record.add_evidence("applied", applied.as_dict())
    sync.record.add_evidence("expected", expected_rows)
    sync.record.add_evidence("observed", observed_rows)
    sync.record.add_evidence("blind_spots", blind_spots)
    sync.record.add_evidence("unjudged", unjudged)
    sync.record.add_fingerprint(
        "corrupted",
        {"local": fingerprint_tree(sync.local).digest, "remote": fingerprint_tree(sync.hpc).digest},
    )
    assert not failures, "\n".join(failures)
    reasons = []
    if blind_spots:
        reasons.append(f"known blind spot(s), not a pass: {', '.join(blind_spots)}")
    if unjudged:
        reasons.append(f"engine {sync.engine.name} has no option for: {', '.join(unjudged)}")
    if reasons:
        pytest.skip("; ".join(reasons))
