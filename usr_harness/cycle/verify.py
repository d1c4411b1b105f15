"""The cycle's verify steps: a round trip of its dataset, held to audits and tree fingerprints."""

from __future__ import annotations

import json
import os
from pathlib import Path

from usr_harness.cycle.checks import SIDES, describe_paths, transfer_problems
from usr_harness.cycle.context import CYCLE_DATASET, REMOTE_NAME, CycleContext
from usr_harness.cycle.steps import StepFailed
from usr_harness.cycle.sync_audit import final_diff_clean, local_work, run_sync_audit_drill
from usr_harness.report.fingerprint import TreeFingerprint, compare, fingerprint_tree

SYNC_AUDIT_REPORT_ENV = "USR_HARNESS_SYNC_AUDIT_REPORT_PATH"


def save_audit(context: CycleContext, name: str, audit: dict | None) -> None:
    """`evidence/<name>.json`: the audit an engine command wrote, when it wrote one."""
    if audit is not None:
        (context.evidence_dir / f"{name}.json").write_text(json.dumps(audit, indent=2) + "\n")


def _trees(context: CycleContext) -> dict[str, TreeFingerprint]:
    local_root, remote_root = context.roots()
    return {
        "local": fingerprint_tree(local_root / CYCLE_DATASET),
        "remote": fingerprint_tree(remote_root / CYCLE_DATASET),
    }


def _transfer(context: CycleContext, action: str) -> str:
    """Pull or push, passed only when it exited 0, wrote its audit, and the trees prove it ran."""
    engine = context.require_engine()
    source, target = SIDES[action]
    before = _trees(context)
    move = engine.pull if action == "pull" else engine.push
    result = move(CYCLE_DATASET, REMOTE_NAME)
    after = _trees(context)
    save_audit(context, f"cycle-{action}", result.audit)
    if result.exit_code != 0:
        raise StepFailed(f"[{result.family}] {result.message.strip()[-300:]}", result.exit_code)
    problems = transfer_problems(action, result.audit, before[source], after[source], after[target])
    if problems:
        raise StepFailed("[fidelity] " + "; ".join(problems))
    return f"{result.transfer_state}; {target} tree equals {source} ({after[target].digest[:16]})"


def pull(context: CycleContext) -> str:
    return _transfer(context, "pull")


def push(context: CycleContext) -> str:
    return _transfer(context, "push")


def laptop_work(context: CycleContext) -> str:
    local_root, _ = context.roots()
    if not (local_root / CYCLE_DATASET / "records.parquet").is_file():
        missing = f"{CYCLE_DATASET}/records.parquet"
        raise StepFailed(f"[fidelity] no local {missing} to work on after the pull")
    local_work(local_root, CYCLE_DATASET, context.config.seed)
    return "local work written"


def final_diff(context: CycleContext) -> str:
    result = context.require_engine().diff(CYCLE_DATASET, REMOTE_NAME)
    save_audit(context, "cycle-final-diff", result.audit)
    if not final_diff_clean(result):
        raise StepFailed("final diff is not up-to-date", result.exit_code or 1)
    return "up-to-date"


def fingerprints(context: CycleContext) -> str:
    trees = _trees(context)
    local, remote = trees["local"], trees["remote"]
    differences = compare(local, remote)
    (context.evidence_dir / "cycle-fingerprints.json").write_text(
        json.dumps({"local": local.as_dict(), "remote": remote.as_dict()}, indent=1) + "\n"
    )
    if not differences.is_empty:
        raise StepFailed(f"[fidelity] local and remote trees differ: {describe_paths(differences)}")
    return f"both trees {local.digest[:16]}"


def sync_audit(context: CycleContext) -> str:
    """The sync audit drill on a host of its own; its report goes where the env var says, if it says."""
    run_dir = context.run_dir
    path = Path(os.environ.get(SYNC_AUDIT_REPORT_ENV) or run_dir / "sync-audit-report.json")
    config = context.config
    drill = run_sync_audit_drill(
        run_dir / "sync-audit",
        engine_cmd=config.engine_cmd,
        engine_profile=config.engine_profile,
        seed=config.seed,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(drill, indent=2) + "\n")
    if not drill["final_up_to_date"]:
        raise StepFailed(f"sync audit drill not up to date (report {path})")
    return f"final_up_to_date (report {path})"
