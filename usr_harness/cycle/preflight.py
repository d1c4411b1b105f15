"""The cycle's preflight steps: tools present, a loopback host up, the engine answering, a seeded remote."""

from __future__ import annotations

from usr_harness.cycle.context import CYCLE_DATASET, REMOTE_NAME, CycleContext
from usr_harness.cycle.steps import StepFailed
from usr_harness.engines import EngineResult, make_engine
from usr_harness.report.versions import tool_versions


def versions(context: CycleContext) -> str:
    context.versions = tool_versions()
    if context.versions["openssh"] == "absent":
        raise StepFailed("the OpenSSH client is missing")
    return ", ".join(f"{k} {v}" for k, v in context.versions.items())


def host_up(context: CycleContext) -> str:
    """A throwaway loopback sshd (stopped with the cycle), the two dataset roots and the engine over it."""
    from usr_harness.hosts.loopback import LoopbackSshd

    run_dir = context.run_dir
    host = context.stack.enter_context(LoopbackSshd(run_dir / "host"))
    remote_root = host.base_dir / "cycle-remote"
    remote_root.mkdir(parents=True, exist_ok=True)
    local_root = run_dir / "local"
    local_root.mkdir(exist_ok=True)
    context.host, context.remote_root, context.local_root = host, remote_root, local_root
    context.engine = make_engine(
        local_root,
        profile=context.config.engine_profile,
        engine_cmd=context.config.engine_cmd,
        remote=host.remote_spec(REMOTE_NAME, base_dir=remote_root),
        workdir=run_dir / "engine",
    )
    return f"sshd on 127.0.0.1:{host.port} (pid {host.pid})"


def engine_passed(result: EngineResult) -> str:
    """An engine command's step verdict: its exit code, with the tail of its message when it failed."""
    if result.exit_code != 0:
        raise StepFailed(f"exit {result.exit_code}: {result.message.strip()[-300:]}", result.exit_code)
    return "exit 0"


def engine_help(context: CycleContext) -> str:
    return engine_passed(context.require_engine().run("--help"))


def doctor(context: CycleContext) -> str:
    return engine_passed(context.require_engine().doctor(REMOTE_NAME))


def seed_remote(context: CycleContext) -> str:
    """The cycle's own dataset, written on the remote as an HPC run would write it."""
    from usr_harness.mock.series import BatchSeries

    _, remote_root = context.roots()
    rounds = BatchSeries(context.config.seed).run(remote_root, CYCLE_DATASET, 2)
    return f"{len(rounds)} HPC rounds written to the remote"


def registry_validate(context: CycleContext) -> str:
    from usr_harness.dataset import Dataset
    from usr_harness.dataset.registry import load_registry

    _, remote_root = context.roots()
    registry = load_registry(remote_root)
    Dataset.open(remote_root, CYCLE_DATASET).validate(strict=True)
    return f"{len(registry.namespaces)} namespaces, remote dataset valid (strict)"
