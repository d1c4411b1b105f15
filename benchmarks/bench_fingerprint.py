"""Fingerprint throughput (issue 6 target: >= 1 GB/s on large files), side by side with sha256sum.

Run on demand: `.venv/bin/python benchmarks/bench_fingerprint.py [--gib N] [--small N] [--dir DIR]`.
Writes one large file and N small ones, then times a warm-cache `fingerprint_tree` of
each against `sha256sum` of the same files (ratio > 1 means the fingerprint is faster).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from usr_harness.report.fingerprint import fingerprint_tree

TARGET_GB_PER_S = 1.0
_BLOCK = 1 << 20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gib", type=float, default=1.0, help="Size of the large file in GiB.")
    parser.add_argument("--small", type=int, default=2000, help="Number of 16 KiB files.")
    parser.add_argument("--dir", type=Path, default=None, help="Scratch folder (default: a temp dir).")
    options = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench-fingerprint-", dir=options.dir))
    try:
        large = scratch / "large"
        small = scratch / "small"
        size = _write_large(large / "big.bin", int(options.gib * (1 << 30)))
        small_bytes = _write_small(small, options.small)
        print(f"large file      {size / 1e9:>10.2f} GB")
        _compare("large", large, size)
        print(f"small files     {options.small:>10,} x 16 KiB ({small_bytes / 1e6:.1f} MB)")
        _compare("small", small, small_bytes)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _compare(label: str, root: Path, total: int) -> None:
    fingerprint_tree(root)
    fingerprint_s = _best(lambda: fingerprint_tree(root))
    files = sorted(str(path) for path in root.rglob("*") if path.is_file())
    sha_s = _best(lambda: subprocess.run(["sha256sum", *files], check=True, capture_output=True))
    rate = total / fingerprint_s / 1e9
    verdict = "ok" if label != "large" or rate >= TARGET_GB_PER_S else "SLOW"
    print(f"  fingerprint   {fingerprint_s:>10.3f} s  {rate:6.2f} GB/s  ({verdict})")
    print(f"  sha256sum     {sha_s:>10.3f} s  {total / sha_s / 1e9:6.2f} GB/s")
    print(f"  ratio         {sha_s / fingerprint_s:>10.2f} x sha256sum")


def _best(action: Callable[[], object], repeats: int = 3) -> float:
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return min(timings)


def _write_large(path: Path, size: int) -> int:
    path.parent.mkdir(parents=True)
    block = os.urandom(_BLOCK)
    with path.open("wb") as handle:
        for _ in range(size // _BLOCK):
            handle.write(block)
        handle.write(block[: size % _BLOCK])
    return size


def _write_small(folder: Path, count: int) -> int:
    for index in range(count):
        sub = folder / f"d{index % 20:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"f{index:05d}.bin").write_bytes(os.urandom(16 << 10))
    return count * (16 << 10)


if __name__ == "__main__":
    main()
