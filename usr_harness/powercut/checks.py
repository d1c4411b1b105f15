"""The checks after one power cut of a recorded pull or push: shared by the drill and `usr-harness powercut`.

The side being written sits on the layer (the laptop's root for a pull, the remote's for a push). A cut
is applied in place, then the engine's recovery runs (`usr recover` for a pull, with an engine that has
the harness dataset layer; for a push the next command, `diff`, whose remote agent recovers a pending
promotion), and:

- the dataset is the old or the new version, whole;
- the laptop's base manifest (`.usr-sync/<remote>/<dataset>.json`) describes the dataset's files, or is
  still the one from before the sync;
- a cut right after the sync returned success leaves the new version (what was reported done is there);
- the next sync succeeds, leaves the new version and a base that describes it.

A push cut models the remote losing power while the laptop runs on: before the last cut point the push
cannot have reported success, so the laptop's `.usr-sync` is put back as it was before the push; at the
last one, as the push left it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from usr_harness.engines import Engine, EngineResult
from usr_harness.powercut.model import Policy
from usr_harness.powercut.mount import PowerCutMount
from usr_harness.powercut.ops import Op
from usr_harness.powercut.sweep import CutRange, cut_ranges, sample_ranges
from usr_harness.report.fingerprint import TreeFingerprint, compare, fingerprint_tree

SYNC_STATE = ".usr-sync"
MESSAGE_CHARS = 400
"""Engine messages keep their first characters: the family header and the first paths."""


def base_files(local_root: Path, remote: str, dataset: str) -> dict[str, dict] | None:
    """The files the laptop's base manifest lists, or None when there is none."""
    path = local_root / SYNC_STATE / remote / f"{dataset}.json"
    return json.loads(path.read_bytes())["files"] if path.exists() else None


def describes(base: dict[str, dict], dataset: Path) -> bool:
    """Every file the base names has its size and sha256, and the base names every file there is."""
    prints = fingerprint_tree(dataset)
    regular = {entry.path for entry in prints.entries if entry.type == "file"}
    if set(base) != regular:
        return False
    for name, entry in base.items():
        data = (dataset / name).read_bytes()
        if len(data) != entry["size"] or hashlib.sha256(data).hexdigest() != entry["sha256"]:
            return False
    return True


def version(prints: TreeFingerprint, old: TreeFingerprint, new: TreeFingerprint) -> str:
    if prints.digest == new.digest:
        return "new"
    return "old" if prints.digest == old.digest else "torn"


def _named(differences: dict, shown: int = 8) -> str:
    """The files a cut lost or left different, by path (the full comparison goes to the evidence)."""
    paths = [entry["path"] for entry in differences.get("removed", []) if entry.get("type") == "file"]
    paths += [f"{entry['path']} (changed)" for entry in differences.get("changed", [])]
    paths += [f"{entry['path']} (added)" for entry in differences.get("added", [])]
    more = f" and {len(paths) - shown} more" if len(paths) > shown else ""
    return (", ".join(paths[:shown]) + more) or "no file differs, only folders"


def _said(result: EngineResult) -> dict:
    return {"exit_code": result.exit_code, "message": result.message.strip()[:MESSAGE_CHARS]}


@dataclass
class SyncUnderCut:
    """One recorded sync: `engine` (rooted at the laptop's root), which way, and the versions around it.

    `written`: the dataset folder on the layer's side; `old`: its fingerprint before the sync and the
    laptop's base then; `new`: the version the sync brings.
    """

    engine: Engine
    layer: PowerCutMount
    direction: str
    remote: str
    dataset: str
    written: Path
    old: TreeFingerprint
    old_base: dict | None
    new: TreeFingerprint
    laptop_states: tuple[Path | None, Path | None] | None = field(default=None)

    def keep_laptop_states(self, before: Path | None, after: Path | None) -> None:
        """A push: copies of the laptop's `.usr-sync` before the push and after it, put back at each cut
        (None: there was none, as with an engine that keeps its state elsewhere)."""
        self.laptop_states = before, after


def copy_sync_state(local_root: Path, into: Path) -> Path | None:
    """A copy of the laptop's `.usr-sync` (None when there is none), for `keep_laptop_states`."""
    if not (local_root / SYNC_STATE).exists():
        return None
    shutil.copytree(local_root / SYNC_STATE, into, symlinks=True)
    return into


class CutChecker:
    """Cuts the recorded sync at one point under the live mount, and runs the checks there."""

    def __init__(self, sync: SyncUnderCut) -> None:
        self.sync = sync
        self.recovers = sync.direction == "push" or sync.engine.missing("harness-dataset-layer") is None

    def check(self, k: int, policy: Policy, *, final: bool) -> tuple[str | None, dict]:
        """(the first failed check or None, the evidence); `final`: the cut after the reported success."""
        sync = self.sync
        sync.layer.cut_in_place(k, policy=policy)
        if sync.laptop_states is not None:
            laptop, kept = sync.engine.root / SYNC_STATE, sync.laptop_states[1 if final else 0]
            shutil.rmtree(laptop, ignore_errors=True)
            if kept is not None:
                shutil.copytree(kept, laptop, symlinks=True)
        evidence: dict = {}
        return self._checks(final, evidence), evidence

    def _recover(self, evidence: dict) -> str | None:
        sync = self.sync
        if sync.direction == "push":
            recovered = sync.engine.diff(sync.dataset, sync.remote)
            evidence["recovery"] = {"command": "diff", **_said(recovered)}
            return None if recovered.ok else f"the next command (diff) failed: {_said(recovered)['message']}"
        if self.recovers:
            recovered = sync.engine.run("recover", sync.dataset)
            evidence["recovery"] = {"command": "recover", **_said(recovered)}
            return None if recovered.ok else f"recover failed: {_said(recovered)['message']}"
        return None

    def _checks(self, final: bool, evidence: dict) -> str | None:
        sync = self.sync
        problem = self._recover(evidence)
        if problem is not None:
            return problem
        found = version(fingerprint_tree(sync.written), sync.old, sync.new)
        evidence["version"] = found
        if final and found != "new":
            lost = compare(sync.new, fingerprint_tree(sync.written)).as_dict()
            evidence["lost"] = lost
            return (
                f"the {sync.direction} reported success, yet a power cut right after it leaves the {found} "
                f"version: {_named(lost)}"
            )
        if self.recovers and found == "torn":
            torn = compare(sync.new, fingerprint_tree(sync.written)).as_dict()
            evidence["torn"] = torn
            return f"dataset is neither the old nor the new version after the recovery: {_named(torn)}"
        base = base_files(sync.engine.root, sync.remote, sync.dataset)
        if self.recovers and base is not None and base != sync.old_base and not describes(base, sync.written):
            return f"base manifest describes other files than the {found} dataset it was made for"
        again = sync.engine.pull if sync.direction == "pull" else sync.engine.push
        synced = again(sync.dataset, sync.remote)
        evidence["next_sync"] = {"command": sync.direction, **_said(synced)}
        if not synced.ok:
            return f"the next {sync.direction} failed: {_said(synced)['message']}"
        if fingerprint_tree(sync.written).digest != sync.new.digest:
            return f"the next {sync.direction} did not leave the new version"
        base = base_files(sync.engine.root, sync.remote, sync.dataset)
        if sync.old_base is not None and (base is None or not describes(base, sync.written)):
            return f"after the next {sync.direction} the base manifest does not describe the dataset"
        return None


def sweep(
    checker: CutChecker,
    ops: Sequence[Op],
    policy: Policy,
    limit: int | None,
    seed: int,
    progress: Callable[[int, int, CutRange], None] | None = None,
) -> list[CutRange]:
    """Check every distinct cut state of the recorded run (a seeded sample of `limit` past it).

    `progress(index, total, cut)` is called after each checked range, its verdict filled in.
    """
    checked = sample_ranges(cut_ranges(checker.sync.layer.initial, ops, policy), limit, seed)
    for index, cut in enumerate(checked, 1):
        cut.problem, cut.evidence = checker.check(cut.first_k, policy, final=cut is checked[-1])
        if progress is not None:
            progress(index, len(checked), cut)
    return checked
