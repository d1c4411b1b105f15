"""`usr-harness cycle`: preflight -> run -> verify, each step recorded, every step run.

The cycle owns its own dataset (`cycle`), seeded on the remote as an HPC run
would write it, so its verify phase proves a full round trip on top of the drills.
"""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from usr_harness.cycle.checks import SIDES, describe_paths, transfer_problems
from usr_harness.cycle.steps import StepFailed, StepReport
from usr_harness.cycle.sync_audit import final_diff_clean, local_work, run_sync_audit_drill
from usr_harness.engines import EngineResult, make_engine
from usr_harness.report.build import RunSettings, write_run_files

CYCLE_DATASET = "cycle"
REMOTE_NAME = "hpc"
REPORT_PATH_ENV = "USR_HARNESS_REPORT_PATH"
RUN_SYNC_AUDIT_ENV = "USR_HARNESS_RUN_SYNC_AUDIT_DRILL"
SYNC_AUDIT_REPORT_ENV = "USR_HARNESS_SYNC_AUDIT_REPORT_PATH"


@dataclass
class CycleConfig:
    run_dir: Path
    seed: int = 1729
    engine_cmd: str | None = None
    engine_profile: str | None = None
    drills_path: Path | None = None
    drills_expr: str | None = None
    scale: str = "small"
    workers: int = 0
    progress: Callable[[str], None] = lambda _message: None


def default_drills_path() -> Path:
    return Path(__file__).resolve().parents[2] / "drills"


def _pytest_args(config: CycleConfig) -> list[str]:
    """`--name=value` forms throughout: pytest looks for its config file before plugin options exist."""
    drills = config.drills_path or default_drills_path()
    args = [str(drills), "-q", "-p", "no:cacheprovider", f"--rootdir={drills.parent}"]
    args += ["-W", "ignore::pytest.PytestAssertRewriteWarning", f"--drill-seed={config.seed}"]
    args += [f"--drill-report-dir={config.run_dir}", f"--junitxml={config.run_dir / 'junit.xml'}"]
    args += [f"--drill-scale={config.scale}"]
    if config.engine_cmd:
        args += [f"--drill-engine-cmd={config.engine_cmd}"]
    if config.engine_profile:
        args += [f"--drill-engine-profile={config.engine_profile}"]
    if config.drills_expr:
        args += ["-k", config.drills_expr]
    if config.workers:
        args += [f"--numprocesses={config.workers}"]
    return args


def run_drills(config: CycleConfig) -> str:
    import pytest

    code = int(pytest.main(_pytest_args(config)))
    if code == pytest.ExitCode.INTERRUPTED:
        raise KeyboardInterrupt  # pytest caught the Ctrl-C; the cycle must stop too
    if code != 0:
        raise StepFailed(f"pytest exited {code}", exit_code=code)
    return "drill suite passed"


def run_cycle(config: CycleConfig) -> dict:
    """Run every step; returns the step report (also written to disk)."""
    from usr_harness.hosts.loopback import LoopbackSshd
    from usr_harness.mock.series import BatchSeries
    from usr_harness.pytest_plugin import tool_versions
    from usr_harness.report.fingerprint import TreeFingerprint, compare, fingerprint_tree

    run_dir = config.run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    report = StepReport()
    context: dict = {}
    say = config.progress

    def step(name: str, command: str, action: Callable[[], str | None]) -> bool:
        if not report.interrupted:
            say(f"{name} ...")
        result = report.run(name, command, action)
        say(f"{name}: {result.status} ({result.duration_seconds:.1f} s) {result.detail}")
        return result.status == "passed"

    with ExitStack() as stack:

        def versions() -> str:
            context["versions"] = tool_versions()
            if context["versions"]["openssh"] == "absent":
                raise StepFailed("the OpenSSH client is missing")
            return ", ".join(f"{k} {v}" for k, v in context["versions"].items())

        def host_up() -> str:
            host = stack.enter_context(LoopbackSshd(run_dir / "host"))
            remote_root = host.base_dir / "cycle-remote"
            remote_root.mkdir(parents=True, exist_ok=True)
            local_root = run_dir / "local"
            local_root.mkdir(exist_ok=True)
            context.update(host=host, remote_root=remote_root, local_root=local_root)
            context["engine"] = make_engine(
                local_root,
                profile=config.engine_profile,
                engine_cmd=config.engine_cmd,
                remote=host.remote_spec(REMOTE_NAME, base_dir=remote_root),
                workdir=run_dir / "engine",
            )
            return f"sshd on 127.0.0.1:{host.port} (pid {host.pid})"

        def engine_step(call: Callable[[], EngineResult]) -> Callable[[], str]:
            def action() -> str:
                result = call()
                if result.exit_code != 0:
                    raise StepFailed(
                        f"exit {result.exit_code}: {result.message.strip()[-300:]}", result.exit_code
                    )
                return "exit 0"

            return action

        def seed_remote() -> str:
            rounds = BatchSeries(config.seed).run(context["remote_root"], CYCLE_DATASET, 2)
            return f"{len(rounds)} HPC rounds written to the remote"

        def registry_validate() -> str:
            from usr_harness.dataset import Dataset
            from usr_harness.dataset.registry import load_registry

            registry = load_registry(context["remote_root"])
            Dataset.open(context["remote_root"], CYCLE_DATASET).validate(strict=True)
            return f"{len(registry.namespaces)} namespaces, remote dataset valid (strict)"

        def trees() -> dict[str, TreeFingerprint]:
            return {
                "local": fingerprint_tree(context["local_root"] / CYCLE_DATASET),
                "remote": fingerprint_tree(context["remote_root"] / CYCLE_DATASET),
            }

        def transfer(action: str) -> Callable[[], str]:
            def run() -> str:
                engine = context["engine"]
                source, target = SIDES[action]
                before = trees()
                result = (
                    engine.pull(CYCLE_DATASET, REMOTE_NAME)
                    if action == "pull"
                    else engine.push(CYCLE_DATASET, REMOTE_NAME)
                )
                after = trees()
                _save_audit(run_dir, f"cycle-{action}", result.audit)
                if result.exit_code != 0:
                    raise StepFailed(f"[{result.family}] {result.message.strip()[-300:]}", result.exit_code)
                problems = transfer_problems(
                    action, result.audit, before[source], after[source], after[target]
                )
                if problems:
                    raise StepFailed("[fidelity] " + "; ".join(problems))
                return f"{result.transfer_state}; {target} tree equals {source} ({after[target].digest[:16]})"

            return run

        def laptop_work() -> str:
            if not (context["local_root"] / CYCLE_DATASET / "records.parquet").is_file():
                missing = f"{CYCLE_DATASET}/records.parquet"
                raise StepFailed(f"[fidelity] no local {missing} to work on after the pull")
            local_work(context["local_root"], CYCLE_DATASET, config.seed)
            return "local work written"

        def final_diff() -> str:
            result = context["engine"].diff(CYCLE_DATASET, REMOTE_NAME)
            _save_audit(run_dir, "cycle-final-diff", result.audit)
            if not final_diff_clean(result):
                raise StepFailed("final diff is not up-to-date", result.exit_code or 1)
            return "up-to-date"

        def fingerprints() -> str:
            local = fingerprint_tree(context["local_root"] / CYCLE_DATASET)
            remote = fingerprint_tree(context["remote_root"] / CYCLE_DATASET)
            differences = compare(local, remote)
            (run_dir / "evidence").mkdir(exist_ok=True)
            (run_dir / "evidence" / "cycle-fingerprints.json").write_text(
                json.dumps({"local": local.as_dict(), "remote": remote.as_dict()}, indent=1) + "\n"
            )
            if not differences.is_empty:
                raise StepFailed(f"[fidelity] local and remote trees differ: {describe_paths(differences)}")
            return f"both trees {local.digest[:16]}"

        def sync_audit() -> str:
            path = Path(os.environ.get(SYNC_AUDIT_REPORT_ENV) or run_dir / "sync-audit-report.json")
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

        engine_cmd = config.engine_cmd or "usr"
        step("preflight:tool-versions", "usr-harness versions", versions)
        host_ok = step("preflight:host-up", "/usr/sbin/sshd -D -f sshd_config (loopback)", host_up)
        if host_ok:
            step(
                "preflight:engine-help",
                f"{engine_cmd} --help",
                engine_step(lambda: context["engine"].run("--help")),
            )
            step(
                "preflight:doctor",
                f"{engine_cmd} remotes doctor {REMOTE_NAME}",
                engine_step(lambda: context["engine"].doctor(REMOTE_NAME)),
            )
            step("preflight:seed-remote", f"usr-harness mock {CYCLE_DATASET} --rounds 2", seed_remote)
            step(
                "preflight:registry-validate",
                f"usr validate {CYCLE_DATASET} --strict (remote)",
                registry_validate,
            )
        step("run:drills", "pytest " + shlex.join(_pytest_args(config)), lambda: run_drills(config))
        if host_ok:
            step("verify:pull", f"{engine_cmd} pull {CYCLE_DATASET} {REMOTE_NAME} -y", transfer("pull"))
            step("verify:local-work", "attach infer overlay, _artifacts, _registry note", laptop_work)
            step("verify:push", f"{engine_cmd} push {CYCLE_DATASET} {REMOTE_NAME} -y", transfer("push"))
            step("verify:final-diff", f"{engine_cmd} diff {CYCLE_DATASET} {REMOTE_NAME}", final_diff)
            step("verify:fingerprints", "blake3 tree fingerprints, local vs remote", fingerprints)
        if os.environ.get(RUN_SYNC_AUDIT_ENV) == "1" or report.interrupted:
            step("verify:sync-audit-drill", "usr-sync-audit-drill --report-json PATH", sync_audit)
        else:
            report.skip("verify:sync-audit-drill", "usr-sync-audit-drill", f"{RUN_SYNC_AUDIT_ENV} is not 1")
        if "host" in context:
            (run_dir / "evidence").mkdir(exist_ok=True)
            log = context["host"].log_path
            if log.exists():
                (run_dir / "evidence" / "sshd.log").write_bytes(log.read_bytes())
    result = report.finish()
    result["run_dir"] = str(run_dir)
    result["versions"] = context.get("versions", {})
    path = Path(os.environ.get(REPORT_PATH_ENV) or run_dir / "cycle-report.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    drills_root = (config.drills_path or default_drills_path()).parent
    settings = RunSettings(config.seed, config.engine_cmd, config.scale, drills_root, config.engine_profile)
    write_run_files(run_dir, settings, steps=result)  # report.json + index.html
    return result


def _save_audit(run_dir: Path, name: str, audit: dict | None) -> None:
    if audit is None:
        return
    folder = run_dir / "evidence"
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps(audit, indent=2) + "\n")
