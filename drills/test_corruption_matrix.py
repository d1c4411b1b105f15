"""Every corruption of the catalogue, on either side, against diff / pull / push / validate.

Scenario of every expectation: both sides in sync (a successful pull recorded the
base), then one corruption on one side (the remote one through SSH), then the
command on the local machine. Every cell is judged:
- an error outcome must be that refusal, leaving both roots exactly as they were;
- `changed` must succeed and see the change (a refusal is a fail); a pull or push
  that says TRANSFERRED must leave the two datasets byte-identical;
- `kept` must succeed, move nothing and list the addition as kept;
- `blind` may miss the change (a known blind spot, kept as evidence) or see it, but
  must not refuse for a foreign reason, change a side while refusing, or transfer
  bytes that then differ;
- `n/a` for diff, pull or push (the datasets root's registry.yaml, which sync does
  not read) must succeed untouched: up to date, nothing moved, nothing changed.
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
from usr_harness.mock.batch import ensure_shared_namespaces
from usr_harness.pytest_plugin import unsupported
from usr_harness.report.fingerprint import compare, fingerprint_tree

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


def _arrived_whole(sync: Sync, command: str) -> list[str]:
    """After a TRANSFERRED pull or push, every file of the source dataset is on the target side with
    the same bytes (the target may keep additions of its own, and need not keep a folder a deletion
    emptied); the paths that are not."""
    source, target = (sync.hpc, sync.local) if command == "pull" else (sync.local, sync.hpc)
    differences = compare(fingerprint_tree(source), fingerprint_tree(target))
    missing = [entry.path for entry in differences.removed if entry.type != "dir"]
    return missing + [change.path for change in differences.changed]


def _judge(sync: Sync, expected, observed: str, result, before, command: str) -> str | None:
    """What is wrong with this cell's result, or None when the engine met the table."""
    tail = result.message[-300:]
    if expected.is_error:
        if not sync.refused(result, expected.outcome):
            return f"expected {expected.outcome}, got {observed}: {tail}"
        if expected.token and not sync.says(result, expected.token):
            return f"message lacks {expected.token!r}: {tail}"
        return None if sync.prints() == before else f"failed with {observed} but changed a side"
    if expected.outcome == NA:
        stale = command == "diff" and result.up_to_date is False
        if not result.ok or observed != "unchanged" or stale or sync.prints() != before:
            return f"a command that does not read this must pass it by untouched, got {observed}: {tail}"
        return None
    transferred = result.ok and command in ("pull", "push") and result.transfer_state == "TRANSFERRED"
    missing = _arrived_whole(sync, command) if transferred else []
    if missing:
        return (
            f"{command} said TRANSFERRED but the target lacks the source's bytes of {', '.join(missing[:5])}"
        )
    if expected.outcome == CHANGED:
        if not result.ok:
            return f"expected the change to be seen and the command to succeed, got {observed}: {tail}"
        return None if observed == CHANGED else f"expected the change to be seen, got {observed}"
    if expected.outcome == KEPT:
        return (
            None
            if observed == KEPT and sync.prints() == before
            else f"expected kept, untouched, got {observed}"
        )
    if not result.ok and (result.family in FOREIGN_FAILURES or sync.prints() != before):
        return f"a blind cell refused as {observed} and changed a side or failed for a foreign reason: {tail}"
    return None


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
    ensure_shared_namespaces(sync.remote_root, sync.local_root, ["densegen", "infer"])
    if side == "remote":
        with sync.remote.session() as session:
            applied = apply(entry, RemoteTree(session, str(sync.remote_root)), DATASET, sync.record.seed)
    else:
        applied = apply(entry, LocalTree(sync.local_root), DATASET, sync.record.seed)
    snapshot = Snapshot(sync, tmp_path / "kept")
    sync.stop_on_unsupported = False
    scale = request.config.getoption("--drill-scale")
    expected_rows, observed_rows, blind_spots, unjudged, failures = {}, {}, [], [], []
    for command in ("diff", "pull", "push", "validate"):
        for profile in _profiles(entry, side, command, scale):
            expected = entry.expect(side, command, profile)
            key = f"{command}/{profile}"
            expected_rows[key] = expected.outcome
            if expected.outcome == NA and command == "validate":
                continue
            before = sync.prints()
            observed, result = _observe(sync, entry, command, PROFILE_FLAGS[profile])
            observed_rows[key] = observed
            if observed == "unsupported":
                unjudged.append(f"{key} ({' '.join(PROFILE_FLAGS[profile])})")
            else:
                problem = _judge(sync, expected, observed, result, before, command)
                if problem:
                    failures.append(f"{key}: {problem}")
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
    if unjudged:
        unsupported(f"engine {sync.engine.name} has no option for: {', '.join(unjudged)}")
