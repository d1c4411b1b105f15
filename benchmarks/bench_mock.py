"""Time 1,000,000 mock records generated and written (issue 5 target: <= 3 s on this machine).

Run on demand: `.venv/bin/python benchmarks/bench_mock.py [--rows N] [--seed N] [--import]`.
`--import` also times the same table going through `Dataset.import_rows` (validation included).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from usr_harness.dataset import Dataset
from usr_harness.dataset.context import seeded_context
from usr_harness.dataset.parquet_io import write_parquet
from usr_harness.mock.records import mock_records

TARGET_SECONDS = 3.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--import", dest="through_import", action="store_true")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-mock-") as scratch:
        started = time.perf_counter()
        table = mock_records(options.seed, options.rows)
        generated = time.perf_counter()
        target = Path(scratch) / "records.parquet"
        write_parquet(table, target)
        written = time.perf_counter()
        total = written - started
        size_mb = target.stat().st_size / 1e6
        print(f"rows            {options.rows:>12,}")
        print(f"generate        {generated - started:>12.3f} s")
        print(f"write_parquet   {written - generated:>12.3f} s  ({size_mb:.1f} MB)")
        verdict = "ok" if total <= TARGET_SECONDS * options.rows / 1_000_000 else "SLOW"
        print(f"total           {total:>12.3f} s  (target {TARGET_SECONDS:.1f} s per 1M rows: {verdict})")
        if options.through_import:
            root = Path(scratch) / "root"
            root.mkdir()
            dataset = Dataset.init(root, "bench", ctx=seeded_context(options.seed))
            began = time.perf_counter()
            dataset.import_rows(table)
            print(f"import_rows     {time.perf_counter() - began:>12.3f} s  (validation + write)")


if __name__ == "__main__":
    main()
