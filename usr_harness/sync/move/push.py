"""A push's local side: the upload into the remote stage, the parquet checks beside it, the promote."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from usr_harness.sync.commit import verify
from usr_harness.sync.hooks import fault_point, remote_fault
from usr_harness.sync.inventory.manifest import Manifest
from usr_harness.sync.move.transfer import mid_transfer_fault, moving, transfer_block
from usr_harness.sync.plan.model import Plan
from usr_harness.sync.state import SyncRun
from usr_harness.sync.transport import Transport


def send(state: SyncRun, agent: Transport, plan: Plan, source: Manifest, target: Manifest) -> None:
    dataset = state.request.dataset
    fault_point("before-staging")
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="usr-verify") as pool:
        # Decoding releases the GIL: the local parquet files are checked while they upload, and
        # nothing is promoted until every check has passed (a failure discards the remote stage).
        checks = [
            pool.submit(verify.verify_parquet, state.local_dir / path, dataset, path)
            for path in plan.copy
            if path.endswith(".parquet")
        ]
        opening = {"op": "stage", "dataset": dataset, "sizes": [source.files[p].size for p in plan.copy]}
        opening.update(remote_fault("after-preflight"))
        agent.request(opening)
        files = [(path, state.local_dir / path) for path in plan.copy]
        moving(state, plan, source, lambda: (agent.stats.files_sent, agent.stats.bytes_sent))
        agent.put_files(dataset, files, mid_transfer_fault())
        state.request.progress.phase("verify")
        for check in checks:
            check.result()
    fault_point("after-staging")
    install = [
        {
            "path": path,
            "sha256": source.files[path].sha256 or state.hashes.sha256(str(state.local_dir / path)),
        }
        for path in plan.copy
    ]
    expect: dict[str, str | None] = {}
    for path in [*plan.copy, *plan.delete]:
        entry = target.files.get(path)
        if entry is None or entry.sha256:
            expect[path] = None if entry is None else entry.sha256
    request = {"op": "promote", "dataset": dataset, "install": install, "delete": plan.delete}
    request.update({"expect": expect, "events": {"check": True}})
    request.update(remote_fault("mid-promotion"))
    state.record.transfer = transfer_block(plan, agent.stats.bytes_sent)
    state.request.progress.phase("promote")
    agent.request(request)
