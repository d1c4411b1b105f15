"""Bulk throughput: a first pull and a first push of the bulk dataset, against rsync and scp.

Every run starts from an empty target, so each moves the whole dataset; usr runs once with
each SSH client (keys `usr.ACTION` for paramiko, `usr.openssh.ACTION`), rsync once with
OpenSSH's default cipher order (`rsync.ACTION`, the target's reference) and once with the
order usr's OpenSSH client uses (`rsync_same_cipher.ACTION`, AES-GCM first). The client's peak
memory comes from GNU time, the remote agent's from polling it under the sshd; both must
stay flat however big the primary is.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field

from benchmarks.agent_memory import AgentPeak
from benchmarks.datasets import BuiltDataset
from benchmarks.measure import Run
from benchmarks.references import rsync_argv, scp_argv
from benchmarks.workspace import CLIENTS, Workspace, drop
from usr_harness.sync.inventory.hash_cache import RACY_NS
from usr_harness.sync.remote.near.connect import fast_cipher_options


@dataclass
class BulkRuns:
    """Runs per tool and direction, plus the agent's peak bytes per engine run."""

    runs: dict[str, list[Run]] = field(default_factory=lambda: defaultdict(list))
    agent_peaks: dict[str, list[int | None]] = field(default_factory=lambda: defaultdict(list))


def measure_bulk(ws: Workspace, built: BuiltDataset, repeats: int) -> BulkRuns:
    """Pull the dataset `repeats` times from scratch, then push it `repeats` times to an empty remote."""
    ws.place(built, link=True)
    # Linking gives the placed files a new ctime, and the engine hashes again any file changed in
    # the last RACY_NS (git's racy-clean rule); HPC output being pulled is older than that.
    time.sleep(RACY_NS / 1e9)
    name = built.spec.name
    result = BulkRuns()
    scp_parent = ws.workdir / "scp"
    rsyncs = (("rsync", ()), ("rsync_same_cipher", fast_cipher_options(ws.target.ssh_argv(), ws.target.host)))
    for _ in range(repeats):
        for client in CLIENTS:
            ws.forget_local(name)
            _engine(ws, name, "pull", client, result)
        remote = ws.remote_path(ws.remote_root, name)
        for key, extra in rsyncs:
            drop(ws.mirror_local / name)
            argv = rsync_argv(ws.target, remote, f"{ws.mirror_local / name}/", ssh_extra=extra)
            result.runs[f"{key}.pull"].append(ws.runner.run(argv))
        drop(scp_parent)
        scp_parent.mkdir()
        source = ws.target.remote(ws.remote_root / name)
        result.runs["scp.pull"].append(ws.runner.run(scp_argv(ws.target, source, f"{scp_parent}/")))
    drop(scp_parent)
    for _ in range(repeats):
        for client in CLIENTS:
            ws.forget_remote(name)
            _engine(ws, name, "push", client, result)
        target = ws.remote_path(ws.mirror_remote, name)
        for key, extra in rsyncs:
            drop(ws.mirror_remote / name)
            argv = rsync_argv(ws.target, f"{ws.mirror_local / name}/", target, ssh_extra=extra)
            result.runs[f"{key}.push"].append(ws.runner.run(argv))
    return result


def engine_key(action: str, client: str) -> str:
    return f"usr.{action}" if client == "paramiko" else f"usr.{client}.{action}"


def _engine(ws: Workspace, name: str, action: str, client: str, result: BulkRuns) -> None:
    assert ws.sshd.pid is not None
    with AgentPeak(ws.sshd.pid) as watch:
        run, _ = ws.usr(action, name, expect="TRANSFERRED", client=client)
    key = engine_key(action, client)
    result.runs[key].append(run)
    result.agent_peaks[key].append(watch.peak)
