"""A hypothesis state machine: random HPC batches, local work, corruption, syncs and interruptions.

The model is deliberately small: which side changed since the last sync, and whether
the HPC side rewrote the records. It predicts every sync's outcome (a side's new parts
and event lines are additions a sync keeps, its rewritten records refuse to be
overwritten, logs that both grew are a conflict, event logs only grow), and the
invariants check the real trees: logs only grow, and after a clean pull + push
both trees are byte-identical.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, seed, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from usr_harness.dataset import Dataset
from usr_harness.dataset.context import seeded_context
from usr_harness.dataset.events import append_event
from usr_harness.faults.points import POINTS, armed_env
from usr_harness.mock.batch import ensure_shared_namespaces
from usr_harness.mock.overlays import overlay_batch
from usr_harness.mock.series import BatchSeries
from usr_harness.pytest_plugin import DrillRemote, make_drill_engine, unsupported
from usr_harness.report.fingerprint import compare, fingerprint_tree

from .conftest import DATASET, REMOTE

pytestmark = [
    pytest.mark.drill,
    pytest.mark.ssh,
    pytest.mark.slow,
    pytest.mark.enforces(
        "docs/operations/sync/audit-loop.md#failure-handling", "H-failure-changes-nothing", "H-nothing-lost"
    ),
]

COMPLETES_ANYWAY = ("mid-promotion", "before-post-verify")


def _log(path: Path) -> bytes:
    log = path / ".events.log"
    return log.read_bytes() if log.exists() else b""


def build_machine(host, options: pytest.Config, seed: int, workdir: Path):
    class SyncModel(RuleBasedStateMachine):
        """local_dirty / remote_dirty: that side holds work the other has not seen;
        records_dirty: part of the remote's is a rewritten records file (a batch)."""

        @initialize()
        def start(self) -> None:
            self.local_exists = False
            self.based = False  # a pull or push has succeeded: the engine holds a last-sync record
            self.local_dirty, self.remote_dirty = False, True
            self.records_dirty = True
            scratch = Path(tempfile.mkdtemp(dir=workdir))
            self.local_root = scratch / "local"
            self.local_root.mkdir()
            self.remote_root = host.base_dir / scratch.name
            self.remote_root.mkdir()
            remote = DrillRemote(host.remote_spec(REMOTE, base_dir=self.remote_root))
            self.engine = make_drill_engine(options, self.local_root, remote, scratch / "engine")
            self.series = BatchSeries(seed, records_per_round=20)
            self.round = 0
            self.ticks = 0
            self.series.apply_round(self.remote_root, DATASET, self.round)
            self.round += 1
            self.logs = (b"", _log(self.remote_root / DATASET))

        def tick(self) -> int:
            self.ticks += 1
            return seed + self.ticks

        @property
        def local(self) -> Path:
            return self.local_root / DATASET

        @property
        def remote(self) -> Path:
            return self.remote_root / DATASET

        @rule()
        def hpc_batch(self) -> None:
            self.series.apply_round(self.remote_root, DATASET, self.round)
            self.round += 1
            self.remote_dirty = self.records_dirty = True

        @precondition(lambda self: self.local_exists)
        @rule()
        def local_overlay(self) -> None:
            ensure_shared_namespaces(self.remote_root, self.local_root, ["infer"])
            dataset = Dataset.open(self.local_root, DATASET, ctx=seeded_context(self.tick(), tool="laptop"))
            ids = dataset.read_records().column("id")
            dataset.attach(overlay_batch(self.tick(), "infer", ids), namespace="infer")
            self.local_dirty = True

        @precondition(lambda self: self.local_exists)
        @rule(side=st.sampled_from(["local", "remote"]))
        def event_append(self, side: str) -> None:
            root = self.local_root if side == "local" else self.remote_root
            append_event(
                root / DATASET,
                "note",
                dataset_id=DATASET,
                root=root,
                args={"n": self.ticks},
                ctx=seeded_context(self.tick()),
            )
            if side == "local":
                self.local_dirty = True
            else:
                self.remote_dirty = True

        @precondition(lambda self: self.local_exists and not self.remote_dirty and not self.local_dirty)
        @rule()
        def corrupt_remote_part(self) -> None:
            """A same-size flip in a synced remote part: pull must refuse it; the flip is then undone."""
            assert self.engine.diff(DATASET, REMOTE).up_to_date is True
            part = sorted((self.remote / "_derived").rglob("*.parquet"))[0]
            original = part.read_bytes()
            flipped = bytearray(original)
            flipped[len(flipped) // 2] ^= 0x40
            part.write_bytes(bytes(flipped))
            before = fingerprint_tree(self.local)
            try:
                result = self.engine.pull(DATASET, REMOTE)
                assert result.family == "sidecars", result.message
                assert compare(before, fingerprint_tree(self.local)).is_empty
            finally:
                part.write_bytes(original)

        def _expect(self, action: str, result) -> None:
            mine, theirs = (
                (self.local_dirty, self.remote_dirty)
                if action == "push"
                else (self.remote_dirty, self.local_dirty)
            )
            overwrites = theirs and (mine or (action == "push" and self.records_dirty))
            if action == "push" and not self.local_exists:
                assert result.family == "verify", result.message
            elif overwrites:
                assert result.family in ("diverged", "events"), result.message
            elif theirs and not self.based and not result.ok:
                # No last-sync record (only interrupted pulls so far): the other side's new lines
                # cannot be told from a loss on this one, so refusing is failing closed.
                assert result.family in ("diverged", "events"), result.message
            elif theirs:
                assert result.ok and result.transfer_state == "NO-OP", result.message
                assert result.audit["data"]["kept"]["paths"], "the target's additions were not kept"
            elif mine:
                assert result.ok and result.transfer_state == "TRANSFERRED", result.message
                self.local_dirty = self.remote_dirty = self.records_dirty = False
                self.local_exists = True
            else:
                assert result.ok and result.transfer_state == "NO-OP", result.message
            self.based = self.based or result.ok

        @rule()
        def pull(self) -> None:
            self._expect("pull", self.engine.pull(DATASET, REMOTE))

        @rule()
        def push(self) -> None:
            self._expect("push", self.engine.push(DATASET, REMOTE))

        @precondition(lambda self: self.remote_dirty and not self.local_dirty)
        @rule(point=st.sampled_from(POINTS))
        def interrupted_pull(self, point: str) -> None:
            result = self.engine.pull(DATASET, REMOTE, env=armed_env(f"{point}:raise"))
            assert not result.ok and result.transfer_state == "FAILED"
            if point in COMPLETES_ANYWAY:
                self.local_dirty = self.remote_dirty = self.records_dirty = False
                self.local_exists = True

        @invariant()
        def logs_only_grow(self) -> None:
            if not hasattr(self, "logs"):
                return
            now = (_log(self.local), _log(self.remote))
            for before, after in zip(self.logs, now, strict=True):
                assert after.startswith(before), "an event log lost or rewrote history"
            self.logs = now

        def teardown(self) -> None:
            if not hasattr(self, "engine") or (self.local_dirty and self.remote_dirty):
                return
            first = "push" if self.local_dirty else "pull"
            for action in (first, "push" if first == "pull" else "pull"):
                result = (
                    self.engine.pull(DATASET, REMOTE)
                    if action == "pull"
                    else self.engine.push(DATASET, REMOTE)
                )
                assert result.ok, result.message
            assert self.engine.diff(DATASET, REMOTE).up_to_date is True
            assert compare(fingerprint_tree(self.local), fingerprint_tree(self.remote)).is_empty

    return SyncModel


def machine_engine_gap(options: pytest.Config, workdir: Path) -> str | None:
    """The model interrupts pulls at named fault points and predicts families by their exit codes."""
    engine = make_drill_engine(options, workdir / "probe", None, workdir / "probe-engine")
    return engine.missing("fault-points", "family-exit-codes")


def test_sync_matches_the_model(
    drill, drill_host, request: pytest.FixtureRequest, tmp_path: Path, drill_scale
):
    machine = build_machine(drill_host, request.config, drill.seed, tmp_path)
    reason = machine_engine_gap(request.config, tmp_path)
    if reason:
        unsupported(reason)
    examples = {"small": 4, "medium": 15, "large": 40}[request.config.getoption("--drill-scale")]
    # The drill's own seed (from --drill-seed) picks the step sequences: another seed explores other
    # sequences, the same seed replays the same ones (derandomize would pin them whatever the seed).
    seed(drill.seed)(machine)
    machine.TestCase.settings = settings(
        max_examples=examples,
        stateful_step_count=8,
        deadline=None,
        derandomize=False,
        phases=(Phase.explicit, Phase.reuse, Phase.generate),
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    drill.add_evidence("examples", examples)
    drill.add_evidence("hypothesis_seed", drill.seed)
    machine.TestCase().runTest()
