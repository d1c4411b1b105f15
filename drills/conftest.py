"""What every drill stands on: an HPC side seeded like a real batch run, evidence helpers, isolation.

Drills act only through the engine adapter, the hosts, the catalogues and the
file system; they never import engine internals.
"""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import blake3
import pytest

from usr_harness.dataset import Dataset
from usr_harness.dataset.context import seeded_context
from usr_harness.engines import Engine, EngineHung, EngineResult
from usr_harness.errors import FAMILY_BY_NAME
from usr_harness.mock.batch import ensure_shared_namespaces
from usr_harness.mock.overlays import overlay_batch
from usr_harness.mock.series import BatchSeries
from usr_harness.pytest_plugin import DRILL_REMOTE, DrillRecord, DrillRemote, unsupported
from usr_harness.report.fingerprint import TreeFingerprint, compare, fingerprint_tree
from usr_harness.report.owned import OwnedState, owned_state

#: Failures that say nothing about the dataset: an engine must not be credited with a refusal for them.
FOREIGN_FAILURES = ("transport", "auth", "usage", "unsupported")
DATASET = "demo"
REMOTE = DRILL_REMOTE


class Sides(NamedTuple):
    """Both datasets roots as the engine owns them (`report/owned.py`): bytes and runtime state."""

    local: OwnedState
    remote: OwnedState

    def changes_since(self, before: Sides) -> dict[str, list[str]]:
        return {
            side: lines
            for side, lines in (
                ("local", self.local.changes_since(before.local)),
                ("remote", self.remote.changes_since(before.remote)),
            )
            if lines
        }


@dataclass
class Sync:
    """Both sides of one drill and the engine between them."""

    engine: Engine
    remote: DrillRemote
    record: DrillRecord
    rows_per_round: int
    stop_on_unsupported: bool = True
    """An engine refusing a command line as unknown ends the drill `unsupported`; a drill that judges
    each cell on its own (the corruption matrix) turns this off and records the cell instead."""

    @property
    def local_root(self) -> Path:
        return self.engine.root

    @property
    def remote_root(self) -> Path:
        return self.remote.base_dir

    @property
    def local(self) -> Path:
        return self.local_root / DATASET

    @property
    def hpc(self) -> Path:
        return self.remote_root / DATASET

    def hpc_rounds(self, first: int, count: int = 1) -> None:
        """The HPC job writes `count` more rounds on the remote, as it would on the cluster."""
        BatchSeries(self.record.seed, records_per_round=self.rows_per_round).run(
            self.remote_root, DATASET, count, first=first
        )

    def synced_then_new_work(self, action: str) -> None:
        """Both sides in sync after one HPC round, then new work on the side `action` reads from."""
        self.hpc_rounds(0, 1)
        assert self.pull().ok
        if action == "pull":
            self.hpc_rounds(1, 2)
        else:
            self.local_overlay()

    def require(self, *capabilities: str) -> None:
        """A drill the engine cannot be judged by is `unsupported`, naming the missing capability."""
        reason = self.engine.missing(*capabilities)
        if reason:
            unsupported(reason)

    def has(self, capability: str) -> bool:
        return self.engine.missing(capability) is None

    def refused(self, result: EngineResult, family: str) -> bool:
        """The engine refused the way the contract's `family` says.

        An engine that names families (`family-exit-codes`) must name this one. Another
        engine must refuse (non-zero exit) for a reason that is not the link, the login or
        its own command line; which family its words map to is kept as evidence, never judged.
        """
        self.record.add_evidence(
            self._label("judged"), {"expected_family": family, "read_family": result.family}
        )
        if result.ok:
            return False
        if result.family == family:
            return True
        return not self.has("family-exit-codes") and result.family not in FOREIGN_FAILURES

    def says(self, result: EngineResult, token: str) -> bool:
        """The message carries `token`. A refusal by an engine that does not speak this contract's
        words (no `family-exit-codes`) is held instead to explaining itself: its own message, not a
        crash; the missing token is kept as evidence either way."""
        word = self.engine.profile.word(token)
        if word in result.message:
            return True
        self.record.add_evidence(self._label("missing_token"), word)
        if self.has("family-exit-codes") or result.ok:
            return False
        return _explains(result)

    def one_line_error(self, result: EngineResult, family: str) -> bool:
        """The refusal is one `usr: error[<family>]: ...` line (paths listed under it) with the
        family's exit code; an engine that does not speak this contract's words is held to
        refusing with a message of its own, not a crash."""
        if not self.has("family-exit-codes"):
            return not result.ok and _explains(result)
        lines = [line for line in result.stderr.splitlines() if not line.startswith("WARNING")]
        headers = [line for line in lines if line.startswith("usr: error[")]
        listed = [line for line in lines if line.startswith(("  - ", "  ... and "))]
        self.record.add_evidence(self._label("error_lines"), lines)
        return (
            len(headers) == 1
            and headers[0].startswith(f"usr: error[{family}]: ")
            and len(headers) + len(listed) == len(lines)
            and result.exit_code == FAMILY_BY_NAME[family].exit_code
        )

    def retarget(self, **changes) -> None:
        """Change how the engine reaches the remote (port, known_hosts, base_dir ...), as data."""
        self.engine.remote = self.engine.remote.changed(**changes)

    def call(self, name: str, command: Callable[[], EngineResult]) -> EngineResult:
        """Run one engine call and keep its evidence: command, outcome, audit, and its byte effect."""
        before = self.root_prints()
        try:
            result = command()
        except EngineHung as hung:
            self.record.add_evidence(
                name, {"command": shlex.join(hung.shown), "hung_after_seconds": hung.seconds}
            )
            raise
        after = self.root_prints()
        evidence = result.evidence()
        evidence["effect"] = {
            side: compare(before[side], after[side]).as_dict()
            for side in ("local", "remote")
            if before[side].digest != after[side].digest
        }
        evidence["fingerprints"] = {
            side: {"before": before[side].digest, "after": after[side].digest} for side in before
        }
        self.record.add_evidence(name, evidence)
        if result.audit is not None:
            self.record.add_evidence(f"{name}.audit", result.audit)
        if result.family == "unsupported" and self.stop_on_unsupported:
            unsupported(f"engine {self.engine.name} does not take `{evidence['command']}`: {_first(result)}")
        return result

    def root_prints(self) -> dict[str, TreeFingerprint]:
        """Both datasets roots (not only the drill's dataset): an engine may write beside it."""
        return {
            "local": fingerprint_tree(self.local_root),
            "remote": fingerprint_tree(self.remote_root),
        }

    def local_overlay(self, namespace: str = "infer", seed_offset: int = 0) -> Path:
        """The analyst's step on the laptop: a seeded overlay part, so replays write the same bytes."""
        seed = self.record.seed + seed_offset
        ensure_shared_namespaces(self.remote_root, self.local_root, [namespace])
        dataset = Dataset.open(self.local_root, DATASET, ctx=seeded_context(seed, tool="laptop"))
        ids = dataset.read_records().column("id")
        part = dataset.attach(overlay_batch(seed, namespace, ids), namespace=namespace)
        self.record.add_evidence(f"attach-{len(self.record.evidence)}", {"part": part.name})
        return part

    def diff(self, *flags: str, dataset: str = DATASET) -> EngineResult:
        return self.call(self._label("diff"), lambda: self.engine.diff(dataset, REMOTE, *flags))

    def pull(self, *flags: str, env: dict | None = None, dataset: str = DATASET) -> EngineResult:
        result = self.call(self._label("pull"), lambda: self.engine.pull(dataset, REMOTE, *flags, env=env))
        return _landed(result, "pull", flags, self.remote_root / dataset, self.local_root / dataset)

    def push(self, *flags: str, env: dict | None = None, dataset: str = DATASET) -> EngineResult:
        result = self.call(self._label("push"), lambda: self.engine.push(dataset, REMOTE, *flags, env=env))
        return _landed(result, "push", flags, self.local_root / dataset, self.remote_root / dataset)

    def validate(self, *flags: str, dataset: str = DATASET) -> EngineResult:
        return self.call(self._label("validate"), lambda: self.engine.validate(dataset, *flags))

    def _label(self, verb: str) -> str:
        return f"{verb}-{len(self.record.evidence)}"

    def prints(self) -> Sides:
        """Every byte the engine owns on both roots (sync state, stages and journals included) and
        whether its runtime files are settled: what "a failed command changed nothing" compares."""
        return Sides(owned_state(self.local_root), owned_state(self.remote_root))

    def fingerprint(self, label: str) -> Sides:
        """Record both datasets' digests under `label` (replayed byte for byte), return `prints()`."""
        local, remote = fingerprint_tree(self.local), fingerprint_tree(self.hpc)
        self.record.add_fingerprint(label, {"local": local.digest, "remote": remote.digest})
        return self.prints()

    def unchanged(self, before: Sides, what: str, settle: float = 0.0) -> None:
        """Fail naming every byte and runtime file that differs from `before`; `settle` seconds let a
        remote program that lost its connection finish exiting first."""
        deadline = time.monotonic() + settle
        after = self.prints()
        while after != before and time.monotonic() < deadline:
            time.sleep(0.2)
            after = self.prints()
        changes = after.changes_since(before)
        self.record.add_evidence(self._label("unchanged"), {"what": what, "changes": changes})
        assert not changes, f"{what} changed a side: {json.dumps(changes)[:1500]}"

    def assert_same_trees(self, wall_clock: Collection[str] = ()) -> None:
        """Both datasets byte-identical and settled; the replayable `final` fingerprint leaves out the
        files in `wall_clock` (written by an engine command that stamps them with the real clock) and,
        when there are any, masks the wall-clock fields of the event log (`replay_print`)."""
        local, remote = fingerprint_tree(self.local), fingerprint_tree(self.hpc)
        if wall_clock:
            self.record.add_evidence("left_out_of_fingerprint", {"files": sorted(wall_clock), **WALL_CLOCK})
            prints = {
                "local": replay_print(self.local, wall_clock),
                "remote": replay_print(self.hpc, wall_clock),
            }
        else:
            prints = {"local": local.digest, "remote": remote.digest}
        self.record.add_fingerprint("final", prints)
        differences = compare(local, remote)
        assert differences.is_empty, json.dumps(differences.as_dict(), indent=1)
        now = self.prints()._asdict().items()
        settled = {side: state.leftovers for side, state in now if state.leftovers}
        assert not settled, f"runtime files left in the wrong state: {settled}"


WALL_CLOCK = {
    "why": "the real `usr attach` command stamps what it writes with the wall clock and this machine",
    "event_fields": ["timestamp_utc", "actor", "dataset.root", "args.input", "artifacts"],
}


def replay_print(dataset: Path, wall_clock: Collection[str]) -> str:
    """A dataset's digest without the wall-clock files named and with the event log's wall-clock
    fields masked: what the same seed reproduces byte for byte even through a real `usr attach`."""
    kept = [entry for entry in fingerprint_tree(dataset).entries if entry.path not in wall_clock]
    log = dataset / ".events.log"
    lines = []
    for line in log.read_bytes().splitlines() if log.is_file() else []:
        event = json.loads(line)
        for field in ("timestamp_utc", "actor", "artifacts"):
            event.pop(field, None)
        event.get("dataset", {}).pop("root", None)
        event.get("args", {}).pop("input", None)
        lines.append(json.dumps(event, sort_keys=True))
    kept = [entry for entry in kept if entry.path != ".events.log"]
    body = TreeFingerprint.of(kept).digest + "\n" + "\n".join(lines)
    return blake3.blake3(body.encode("utf-8", "surrogateescape")).hexdigest()


def _explains(result: EngineResult) -> bool:
    """A refusal in the engine's own words: some message, and not an unhandled exception's traceback."""
    return bool(result.message.strip()) and "Traceback (most recent call last)" not in result.message


def _first(result: EngineResult) -> str:
    lines = [line.strip() for line in result.message.splitlines() if line.strip()]
    return lines[0][:200] if lines else f"exit {result.exit_code}"


def _landed(
    result: EngineResult, verb: str, flags: tuple[str, ...], source: Path, target: Path
) -> EngineResult:
    """An engine that says it succeeded but left no dataset where it copied to fails as a fidelity lie,
    here and with that message, not later as a missing file in the drill's own steps."""
    lied = (
        result.ok
        and "--dry-run" not in flags
        and result.transfer_state != "DRY-RUN"
        and (source / "records.parquet").is_file()
        and not (target / "records.parquet").is_file()
    )
    if lied:
        pytest.fail(
            f"[fidelity] {verb} exited 0 ({result.transfer_state or 'no audit'}) but left no "
            f"{target.name}/records.parquet at {target}: {result.message.strip()[-300:]}"
        )
    return result


@pytest.fixture
def sync(drill: DrillRecord, drill_engine: Engine, drill_remote: DrillRemote, drill_scale: dict) -> Sync:
    return Sync(drill_engine, drill_remote, drill, drill_scale["rows"])
