"""In-process figures: mock generation, tree fingerprinting and sha256, against sha256sum.

Hashing is timed warm (the files were just read), as the engine meets them right after a
transfer, and every hasher must agree on every digest or the figure is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from benchmarks.measure import BenchError, CommandRunner, Stats, timed
from benchmarks.references import hashlib_sha256, sha256sum_argv, sha256sum_digests
from usr_harness.dataset.parquet_io import write_parquet
from usr_harness.mock.records import mock_records
from usr_harness.report.fingerprint import fingerprint_tree
from usr_harness.sync.inventory.scan import sha256_file

MOCK_ROWS = 1_000_000
MOCK_SEED = 7


@dataclass(frozen=True)
class HashRuns:
    """Seconds per run over `size_bytes` of files, per hasher."""

    size_bytes: int
    engine_sha256: Stats
    hashlib_sha256: Stats
    sha256sum: Stats
    fingerprint: Stats


def mock_generation(folder: Path, repeats: int) -> Stats:
    """Seconds to generate and write 1,000,000 mock records (bench_mock.py's figure); the file stays."""
    target = folder / "records.parquet"
    return Stats.of(
        timed(lambda: write_parquet(mock_records(MOCK_SEED, MOCK_ROWS), target))[0] for _ in range(repeats)
    )


def hashing(folder: Path, runner: CommandRunner, repeats: int) -> HashRuns:
    """The engine's sha256, hashlib's, sha256sum's and the blake3 fingerprint over one folder, interleaved."""
    files = sorted(path for path in folder.rglob("*") if path.is_file())
    runs: dict[str, list[float]] = {"engine": [], "hashlib": [], "sha256sum": [], "fingerprint": []}
    for _ in range(repeats):
        reference = runner.run(sha256sum_argv(files))
        runs["sha256sum"].append(reference.seconds)
        expected = sha256sum_digests(reference.stdout)
        for name, action in (
            ("engine", lambda: [sha256_file(str(path)) for path in files]),
            ("hashlib", lambda: hashlib_sha256(files)),
        ):
            seconds, digests = timed(action)
            if digests != expected:
                raise BenchError(f"{name} sha256 disagrees with sha256sum over {folder}")
            runs[name].append(seconds)
        runs["fingerprint"].append(timed(lambda: fingerprint_tree(folder))[0])
    return HashRuns(
        size_bytes=sum(path.stat().st_size for path in files),
        engine_sha256=Stats.of(runs["engine"]),
        hashlib_sha256=Stats.of(runs["hashlib"]),
        sha256sum=Stats.of(runs["sha256sum"]),
        fingerprint=Stats.of(runs["fingerprint"]),
    )
