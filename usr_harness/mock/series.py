"""Round k of an iterative HPC run, replayable: the same (seed, k) on the same state writes the same bytes."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from usr_harness.dataset import Dataset
from usr_harness.dataset.context import Actor, WriteContext, seeded_context
from usr_harness.dataset.events import append_event
from usr_harness.dataset.fsio import atomic_write_bytes
from usr_harness.dataset.layout import DERIVED_DIR, RECORDS_FILE
from usr_harness.mock.batch import MockBatch, ensure_overlay_namespaces
from usr_harness.mock.records import seed_origin
from usr_harness.mock.seeding import derive_seed

ARTIFACTS_DIR = "_artifacts"
ROUND_ACTION = "harness_round"


@dataclass(frozen=True)
class RoundResult:
    round: int
    records_added: int
    namespace: str
    part: Path
    snapshot: Path | None
    checkpoint: Path | None


@dataclass(frozen=True)
class BatchSeries:
    """An HPC job that appends records and one overlay part per round, snapshotting every few rounds."""

    seed: int
    records_per_round: int = 200
    overlays: tuple[str, ...] = ("densegen", "infer")
    snapshot_every: int = 3
    bio_type: str = "dna"

    def batch(self, k: int) -> MockBatch:
        namespace = self.overlays[k % len(self.overlays)]
        return MockBatch.generate(
            derive_seed(self.seed, "round", k),
            self.records_per_round,
            overlays=(namespace,),
            bio_type=self.bio_type,
            start=self.round_start(k),
        )

    def round_start(self, k: int) -> datetime:
        """Rounds are an hour apart, so events, parts and snapshots order by round."""
        return seed_origin(self.seed) + timedelta(hours=k)

    def context(self, k: int, batch: MockBatch) -> WriteContext:
        ctx = seeded_context(derive_seed(self.seed, "context", k), start=self.round_start(k))
        prov = batch.provenance
        return dataclasses.replace(ctx, actor=Actor("usr-harness", prov.run_id, prov.host, 0))

    def apply_round(self, root: Path, dataset_id: str, k: int) -> RoundResult:
        """Round k through the dataset layer: records, one part, an event, and maybe snapshot + checkpoint."""
        root = Path(root)
        batch = self.batch(k)
        ctx = self.context(k, batch)
        ensure_overlay_namespaces(root, self.overlays)
        if (root / dataset_id / RECORDS_FILE).exists():
            dataset = Dataset.open(root, dataset_id, ctx=ctx)
        else:
            dataset = Dataset.init(
                root, dataset_id, source=batch.provenance.source, notes="mock HPC batch series", ctx=ctx
            )
        (part,) = batch.apply(dataset)
        namespace = next(iter(batch.overlays))
        append_event(
            dataset.path,
            ROUND_ACTION,
            dataset_id=dataset_id,
            root=str(root),
            args={"round": k, "seed": self.seed, "namespace": namespace, **batch.provenance.as_dict()},
            metrics={"records_added": batch.records.num_rows},
            artifacts=[part.relative_to(dataset.path).as_posix()],
            ctx=ctx,
        )
        snapshot = checkpoint = None
        if (k + 1) % self.snapshot_every == 0:
            snapshot = dataset.snapshot()
            checkpoint = self._write_checkpoint(dataset.path, k, batch, snapshot)
        return RoundResult(k, batch.records.num_rows, namespace, part, snapshot, checkpoint)

    def run(self, root: Path, dataset_id: str, rounds: int, *, first: int = 0) -> list[RoundResult]:
        return [self.apply_round(root, dataset_id, k) for k in range(first, first + rounds)]

    def _write_checkpoint(self, dataset_dir: Path, k: int, batch: MockBatch, snapshot: Path) -> Path:
        """What a job would leave to resume from: the round, the run and hashes of what it saw."""
        derived = dataset_dir / DERIVED_DIR
        body = {
            "round": k,
            "seed": self.seed,
            "run_id": batch.provenance.run_id,
            "records_sha256": hashlib.sha256((dataset_dir / RECORDS_FILE).read_bytes()).hexdigest(),
            "snapshot": snapshot.name,
            "parts": sorted(p.relative_to(dataset_dir).as_posix() for p in derived.rglob("*.parquet")),
        }
        target = dataset_dir / ARTIFACTS_DIR / f"checkpoint-{k}.json"
        target.parent.mkdir(exist_ok=True)
        atomic_write_bytes(target, (json.dumps(body, indent=2, sort_keys=True) + "\n").encode("utf-8"))
        return target
