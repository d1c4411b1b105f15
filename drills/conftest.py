"""What every drill stands on: an HPC side seeded like a real batch run, evidence helpers, isolation.

Drills act only through the engine adapter, the hosts, the catalogues and the
file system; they never import engine internals.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from usr_harness.dataset import Dataset
from usr_harness.dataset.context import seeded_context
from usr_harness.engines import Engine, EngineResult
from usr_harness.mock.batch import ensure_overlay_namespaces
from usr_harness.mock.overlays import overlay_batch
from usr_harness.mock.series import BatchSeries
from usr_harness.pytest_plugin import DrillRecord, DrillRemote
from usr_harness.report.fingerprint import compare, fingerprint_tree

DATASET = "demo"
REMOTE = "loopback"


@dataclass
class Sync:
    """Both sides of one drill and the engine between them."""

    engine: Engine
    remote: DrillRemote
    record: DrillRecord
    rows_per_round: int

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

    def step(self, name: str, result: EngineResult) -> EngineResult:
        """Keep the audit and outcome of one engine call as drill evidence."""
        self.record.add_evidence(
            name,
            {"exit_code": result.exit_code, "family": result.family, "transfer_state": result.transfer_state},
        )
        if result.audit is not None:
            self.record.add_evidence(f"{name}.audit", result.audit)
        return result

    def local_overlay(self, namespace: str = "infer", seed_offset: int = 0) -> Path:
        """The analyst's step on the laptop: a seeded overlay part, so replays write the same bytes."""
        seed = self.record.seed + seed_offset
        ensure_overlay_namespaces(self.local_root, [namespace])
        dataset = Dataset.open(self.local_root, DATASET, ctx=seeded_context(seed, tool="laptop"))
        ids = dataset.read_records().column("id")
        part = dataset.attach(overlay_batch(seed, namespace, ids), namespace=namespace)
        self.record.add_evidence(f"attach-{len(self.record.evidence)}", {"part": part.name})
        return part

    def diff(self, *flags: str) -> EngineResult:
        return self.step(f"diff-{len(self.record.evidence)}", self.engine.diff(DATASET, REMOTE, *flags))

    def pull(self, *flags: str, env: dict | None = None) -> EngineResult:
        return self.step(
            f"pull-{len(self.record.evidence)}", self.engine.pull(DATASET, REMOTE, *flags, env=env)
        )

    def push(self, *flags: str, env: dict | None = None) -> EngineResult:
        return self.step(
            f"push-{len(self.record.evidence)}", self.engine.push(DATASET, REMOTE, *flags, env=env)
        )

    def prints(self):
        return fingerprint_tree(self.local), fingerprint_tree(self.hpc)

    def fingerprint(self, label: str):
        local, remote = self.prints()
        self.record.add_fingerprint(label, {"local": local.digest, "remote": remote.digest})
        return local, remote

    def assert_same_trees(self) -> None:
        local, remote = self.fingerprint("final")
        differences = compare(local, remote)
        assert differences.is_empty, json.dumps(differences.as_dict(), indent=1)


@pytest.fixture
def sync(drill: DrillRecord, drill_engine: Engine, drill_remote: DrillRemote, drill_scale: dict) -> Sync:
    return Sync(drill_engine, drill_remote, drill, drill_scale["rows"])
