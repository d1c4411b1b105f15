"""The deterministic sync audit drill: diff -> pull -> local work -> diff -> push -> diff over real SSH.

`final_up_to_date` is true only when the last diff shows no change in any
section AND both trees are byte-identical by their blake3 fingerprints.
"""

from __future__ import annotations

import json
from contextlib import ExitStack
from pathlib import Path

from usr_harness.dataset import Dataset
from usr_harness.dataset.context import seeded_context
from usr_harness.engines import EngineResult, make_engine
from usr_harness.engines.adapter import SECTIONS
from usr_harness.mock.batch import ensure_overlay_namespaces
from usr_harness.mock.overlays import overlay_batch
from usr_harness.mock.series import BatchSeries
from usr_harness.report.fingerprint import compare, fingerprint_tree

REPORT_VERSION = 1


def final_diff_clean(result: EngineResult) -> bool:
    """A diff that ran, wrote its audit, and names every section unchanged."""
    data = result.data
    return (
        result.ok
        and data.get("transfer_state") == "DIFF-ONLY"
        and all(data.get(section, {}).get("changed") is False for section in SECTIONS)
    )


def local_work(root: Path, dataset_id: str, seed: int) -> None:
    """What an analyst does on the laptop: an Infer overlay, a notebook artifact, a registry note."""
    ensure_overlay_namespaces(root, ["infer"])
    dataset = Dataset.open(root, dataset_id, ctx=seeded_context(seed + 1))
    ids = dataset.read_records().column("id")
    dataset.attach(overlay_batch(seed, "infer", ids), namespace="infer")
    artifacts = dataset.path / "_artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / f"notebook-{seed}.json").write_text(json.dumps({"seed": seed, "rows": len(ids)}) + "\n")
    registry = dataset.path / "_registry"
    registry.mkdir(exist_ok=True)
    (registry / "NOTE.md").write_text(f"infer overlay attached on the laptop (seed {seed})\n")


def run_sync_audit_drill(
    work_dir: Path,
    *,
    dataset_id: str = "demo",
    engine_cmd: str | None = None,
    engine_profile: str | None = None,
    seed: int = 1729,
    host=None,
) -> dict:
    """Run the drill in `work_dir` (a fresh loopback sshd unless `host` is given) and return its report."""
    work_dir = Path(work_dir)
    audits = work_dir / "audits"
    audits.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        if host is None:
            from usr_harness.hosts.loopback import LoopbackSshd

            host = stack.enter_context(LoopbackSshd(work_dir / "host"))
        remote_root = host.base_dir / f"sync-audit-{seed}"
        remote_root.mkdir(parents=True, exist_ok=True)
        local_root = work_dir / "local"
        local_root.mkdir(exist_ok=True)
        BatchSeries(seed).run(remote_root, dataset_id, 2)
        engine = make_engine(
            local_root,
            profile=engine_profile,
            engine_cmd=engine_cmd,
            remote=host.remote_spec("hpc", base_dir=remote_root),
            workdir=work_dir / "engine",
        )
        steps = []

        def record(name: str, result) -> None:
            path = audits / f"{len(steps) + 1:02d}-{name}.json"
            if result.audit is not None:
                path.write_text(json.dumps(result.audit, indent=2) + "\n")
            steps.append(
                {
                    "name": name,
                    "exit_code": result.exit_code,
                    "family": result.family,
                    "transfer_state": result.transfer_state,
                    "audit": str(path) if result.audit is not None else None,
                }
            )

        record("diff-initial", engine.diff(dataset_id, "hpc"))
        record("pull", engine.pull(dataset_id, "hpc"))
        if steps[-1]["exit_code"] == 0:
            local_work(local_root, dataset_id, seed)
        record("diff-after-local-work", engine.diff(dataset_id, "hpc"))
        record("push", engine.push(dataset_id, "hpc"))
        final = engine.diff(dataset_id, "hpc")
        record("diff-final", final)
        local_print = fingerprint_tree(local_root / dataset_id)
        remote_print = fingerprint_tree(remote_root / dataset_id)
        differences = compare(local_print, remote_print)
    trees_equal = differences.is_empty
    return {
        "report_version": REPORT_VERSION,
        "drill": "sync-audit",
        "dataset_id": dataset_id,
        "seed": seed,
        "engine": engine.name,
        "engine_cmd": engine_cmd,
        "steps": steps,
        "final_diff_up_to_date": final_diff_clean(final),
        "trees_equal": trees_equal,
        "final_up_to_date": final_diff_clean(final) and trees_equal,
        "fingerprints": {"local": local_print.digest, "remote": remote_print.digest},
        "fingerprint_diff": differences.as_dict(),
    }
