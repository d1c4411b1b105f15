"""Datasets on both sides of a remote and a `usr` runner that returns code + audit, for any test that syncs.

The remote root is whatever folder a profile in `remotes_config` serves: the loopback sshd's
base_dir (`tests/sync` `sides`, the golden audits) or a `client: local` one (`disk_sides`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pytest

from usr_harness.cli.usr.app import main as usr_main
from usr_harness.dataset import Dataset
from usr_harness.dataset.context import WriteContext
from usr_harness.dataset.registry import register_namespace
from usr_harness.report.fingerprint import fingerprint_tree

DATASET = "demo"


@dataclass
class UsrResult:
    code: int
    out: str
    err: str
    audit: dict | None


@dataclass
class Sides:
    local_root: Path
    remote_root: Path
    remotes_config: Path
    audit_dir: Path
    capsys: pytest.CaptureFixture
    runs: int = 0
    last: UsrResult | None = None
    """What the latest `usr` call returned."""

    def usr(self, *args: str, subprocess_env: dict | None = None) -> UsrResult:
        """Run `usr --root LOCAL --remotes-config CFG ARGS --audit-json-out A` and read the audit."""
        self.runs += 1
        audit_path = self.audit_dir / f"audit-{self.runs}.json"
        argv = ["--root", str(self.local_root), "--remotes-config", str(self.remotes_config), *args]
        if args[0] in ("diff", "pull", "push"):
            argv += ["--audit-json-out", str(audit_path)]
        if subprocess_env is not None:
            done = subprocess.run(
                [sys.executable, "-m", "usr_harness.cli.usr", *argv],
                env={**os.environ, **subprocess_env},
                capture_output=True,
                text=True,
                timeout=120,
            )
            code, out, err = done.returncode, done.stdout, done.stderr
        else:
            self.capsys.readouterr()
            code = usr_main(argv)
            captured = self.capsys.readouterr()
            out, err = captured.out, captured.err
        audit = json.loads(audit_path.read_text()) if audit_path.exists() else None
        self.last = UsrResult(code, out, err, audit)
        return self.last

    @property
    def local(self) -> Path:
        return self.local_root / DATASET

    @property
    def remote(self) -> Path:
        return self.remote_root / DATASET

    def fingerprints(self):
        return fingerprint_tree(self.local), fingerprint_tree(self.remote)

    def assert_equal_trees(self) -> None:
        local, remote = self.fingerprints()
        diff = local.compare(remote) if hasattr(local, "compare") else None
        assert local.digest == remote.digest, diff


def records_table(start: int, count: int) -> pa.Table:
    bases = "ACGT"
    sequences = [
        "".join(bases[(i >> (2 * j)) % 4] for j in range(12)) + "ACGT" * (2 + i % 3)
        for i in range(start, start + count)
    ]
    return pa.table(
        {
            "bio_type": ["dna"] * count,
            "sequence": sequences,
            "alphabet": ["dna_4"] * count,
        }
    )


def overlay_table(dataset: Dataset, column: str, scale: float) -> pa.Table:
    ids = dataset.read_records().column("id")
    return pa.table({"id": ids, column: pa.array([scale * i for i in range(len(ids))], pa.float64())})


def make_dataset(
    root: Path, rows: int = 12, *, source: str = "test", ctx: WriteContext | None = None
) -> Dataset:
    """The remote as an HPC run leaves it: core records and one densegen batch (`ctx` pins the bytes)."""
    register_namespace(root, "densegen", [("densegen__score", "float64")], owner="hpc")
    register_namespace(root, "infer", [("infer__llr", "float64")], owner="laptop")
    dataset = Dataset.init(root, DATASET, source=source, ctx=ctx)
    dataset.import_rows(records_table(0, rows), source=source)
    dataset.attach(overlay_table(dataset, "densegen__score", 0.5), namespace="densegen")
    return dataset
