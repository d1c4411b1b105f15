"""`usr-harness cycle`: preflight -> run -> verify, each step recorded, every step run.

The cycle owns its own dataset (`cycle`), seeded on the remote as an HPC run
would write it, so its verify phase proves a full round trip on top of the drills.
Steps are plain functions over a `CycleContext`; `cycle_steps` lists them in order
and `run_steps` runs them, recording each one's outcome in a `StepReport`.
"""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from usr_harness.cycle import preflight, verify
from usr_harness.cycle.context import CYCLE_DATASET, REMOTE_NAME, CycleConfig, CycleContext
from usr_harness.cycle.drills import default_drills_path, pytest_args, run_drills
from usr_harness.cycle.steps import StepReport
from usr_harness.report.build import RunSettings, write_run_files

REPORT_PATH_ENV = "USR_HARNESS_REPORT_PATH"
RUN_SYNC_AUDIT_ENV = "USR_HARNESS_RUN_SYNC_AUDIT_DRILL"
HOST_UP = "preflight:host-up"

Action = Callable[[CycleContext], str | None]


@dataclass(frozen=True)
class Step:
    """One step of the cycle.

    `requires`: a step that must have passed, else this one is left out of the report
    (no host, nothing to run against). `skip_reason`: asked just before the step would
    run; a reason records the step as skipped, under `skip_command`, instead.
    """

    name: str
    command: str
    action: Action
    requires: str | None = None
    skip_reason: Callable[[StepReport], str | None] | None = None
    skip_command: str = ""


def _sync_audit_skip(report: StepReport) -> str | None:
    """The drill starts a host of its own: run on request only (and, once interrupted, never)."""
    if os.environ.get(RUN_SYNC_AUDIT_ENV) == "1" or report.interrupted:
        return None
    return f"{RUN_SYNC_AUDIT_ENV} is not 1"


def cycle_steps(config: CycleConfig) -> list[Step]:
    """Every step of the cycle, in the order it runs, with the command a person would type for it."""
    engine = config.engine_cmd or "usr"
    dataset, remote = CYCLE_DATASET, REMOTE_NAME
    return [
        Step("preflight:tool-versions", "usr-harness versions", preflight.versions),
        Step(HOST_UP, "/usr/sbin/sshd -D -f sshd_config (loopback)", preflight.host_up),
        Step("preflight:engine-help", f"{engine} --help", preflight.engine_help, HOST_UP),
        Step("preflight:doctor", f"{engine} remotes doctor {remote}", preflight.doctor, HOST_UP),
        Step(
            "preflight:seed-remote", f"usr-harness mock {dataset} --rounds 2", preflight.seed_remote, HOST_UP
        ),
        Step(
            "preflight:registry-validate",
            f"usr validate {dataset} --strict (remote)",
            preflight.registry_validate,
            HOST_UP,
        ),
        Step("run:drills", "pytest " + shlex.join(pytest_args(config)), run_drills),
        Step("verify:pull", f"{engine} pull {dataset} {remote} -y", verify.pull, HOST_UP),
        Step(
            "verify:local-work",
            "attach infer overlay, _artifacts, _registry note",
            verify.laptop_work,
            HOST_UP,
        ),
        Step("verify:push", f"{engine} push {dataset} {remote} -y", verify.push, HOST_UP),
        Step("verify:final-diff", f"{engine} diff {dataset} {remote}", verify.final_diff, HOST_UP),
        Step(
            "verify:fingerprints", "blake3 tree fingerprints, local vs remote", verify.fingerprints, HOST_UP
        ),
        Step(
            "verify:sync-audit-drill",
            "usr-sync-audit-drill --report-json PATH",
            verify.sync_audit,
            skip_reason=_sync_audit_skip,
            skip_command="usr-sync-audit-drill",
        ),
    ]


def run_steps(steps: list[Step], context: CycleContext, report: StepReport) -> None:
    """Run `steps` in order into `report`: a failure never stops the rest, Ctrl-C skips them."""
    say = context.config.progress
    passed: set[str] = set()
    for step in steps:
        if step.requires is not None and step.requires not in passed:
            continue
        reason = step.skip_reason(report) if step.skip_reason else None
        if reason is not None:
            report.skip(step.name, step.skip_command, reason)
            continue
        if not report.interrupted:
            say(f"{step.name} ...")
        result = report.run(step.name, step.command, lambda step=step: step.action(context))
        say(f"{step.name}: {result.status} ({result.duration_seconds:.1f} s) {result.detail}")
        if result.status == "passed":
            passed.add(step.name)


def run_cycle(config: CycleConfig) -> dict:
    """Run every step; returns the step report (also written to disk)."""
    config.run_dir.mkdir(parents=True, exist_ok=True)
    report = StepReport()
    with ExitStack() as stack:
        context = CycleContext(config, stack)
        run_steps(cycle_steps(config), context, report)
        _keep_sshd_log(context)
    result = report.finish()
    result["run_dir"] = str(config.run_dir)
    result["versions"] = context.versions
    path = Path(os.environ.get(REPORT_PATH_ENV) or config.run_dir / "cycle-report.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    drills_root = (config.drills_path or default_drills_path()).parent
    settings = RunSettings(config.seed, config.engine_cmd, config.scale, drills_root, config.engine_profile)
    write_run_files(config.run_dir, settings, steps=result)  # report.json + index.html
    return result


def _keep_sshd_log(context: CycleContext) -> None:
    """The host's log goes to the evidence before the host (and its folder's meaning) is gone."""
    if context.host is None:
        return
    log, folder = context.host.log_path, context.evidence_dir
    if log.exists():
        (folder / "sshd.log").write_bytes(log.read_bytes())
