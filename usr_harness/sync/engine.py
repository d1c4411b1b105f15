"""`usr diff | pull | push`: manifests, diff, plan, staged transfer, verify, promotion, audit.

One SSH connection and one agent channel per command. Every failure writes the
audit (transfer_state FAILED, `error`) and leaves both sides as they were, or, once
a promotion journal is committed, wholly new. This module is the order of the steps;
each step lives in its stage's folder: `inventory/` -> `plan/` -> `move/` (`pull`, `push`) ->
`commit/` (`verify`, `promotion`) -> `record/` (`audit`); docs/architecture.md draws it.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable
from pathlib import Path

from usr_harness.dataset.flock import release_all
from usr_harness.dataset.journal import JournalConflict
from usr_harness.dataset.layout import EVENTS_FILE, check_dataset_id
from usr_harness.dataset.quoting import quote
from usr_harness.errors import (
    FAMILY_BY_NAME,
    StagingError,
    UsageError,
    UsrError,
    VerifyError,
)
from usr_harness.sync.command import gate, load_hooks, publish, publish_failure
from usr_harness.sync.commit import verify
from usr_harness.sync.hooks import FaultInjected, fault_point
from usr_harness.sync.inventory import sides
from usr_harness.sync.inventory.hash_store import HashStore, store_path
from usr_harness.sync.inventory.manifest import Manifest
from usr_harness.sync.locking import lock_local, lock_remote, recover_local
from usr_harness.sync.move import pull, push, space
from usr_harness.sync.plan import base_store
from usr_harness.sync.plan.diff import diff_manifests
from usr_harness.sync.plan.direction import direction
from usr_harness.sync.plan.model import Plan
from usr_harness.sync.plan.planner import base_from, plan_sync, primary_missing
from usr_harness.sync.record import sizes
from usr_harness.sync.record.audit import post_report
from usr_harness.sync.remote.near.client import AgentClient
from usr_harness.sync.remote.near.pending import PendingAgent, connect_agent_in_background
from usr_harness.sync.remote.near.profiles import get_profile
from usr_harness.sync.request import SyncRequest
from usr_harness.sync.state import SyncRun
from usr_harness.sync.timings import Timings

__all__ = ["SyncRequest", "run"]


def run(
    action: str, request: SyncRequest, timings: Timings | None = None, login: PendingAgent | None = None
) -> dict:
    """Run one sync command; returns the audit, raises the UsrError family after writing it.

    `timings`: the caller's clock, to read the audit's own write time from after the run;
    `login`: a connection `early_login.start_login` began for this request (closed here).
    """
    request.opts.check(action)
    try:
        check_dataset_id(request.dataset)
    except ValueError as error:
        raise UsageError(str(error)) from None
    load_hooks()
    timings = timings or Timings()
    request = dataclasses.replace(request, progress=timings.watching(request.progress))
    state = SyncRun(action, request, timings=timings)
    state.store = HashStore.load(
        store_path(str(request.root), request.dataset), trust=not request.opts.rehash
    )
    try:
        profile = get_profile(request.remote, request.remotes_config)
        request.progress.phase("connect")
        with connect_agent_in_background(profile, login) as pending:
            try:
                transfer_state = _connected(state, pending)
            finally:
                _save_local_hashes(state)
    except FaultInjected as fault:
        error = StagingError(f"{request.dataset}: {fault}")
        _finish_failed(state, error)
        raise error from None
    except JournalConflict as conflict:
        error = StagingError(
            f"local {request.dataset}: {conflict}",
            paths=[conflict.relpath],
            dataset=request.dataset,
            side="local",
        )
        _finish_failed(state, error)
        raise error from None
    except OSError as failure:
        if not space.is_disk_full(failure):
            raise
        error = StagingError(
            f"local {request.dataset}: disk full writing {quote(failure.filename or request.root)} "
            f"({failure.strerror})",
            paths=[str(failure.filename or request.root)],
            dataset=request.dataset,
            side="local",
        )
        _finish_failed(state, error)
        raise error from None
    except UsrError as error:
        if not state.finished:
            _finish_failed(state, error)
        raise
    return _finish(state, transfer_state)


def _connected(state: SyncRun, pending: PendingAgent) -> str:
    """The local inventory is taken while the login runs, and the remote's once the agent is up
    (its first manifest asked ahead); then the action, over the agent."""
    recover_local(state)
    ahead = sides.manifest_request_ahead(state)
    if ahead is not None:
        pending.ask_ahead(ahead)
    with state.timings.span("local scan"):
        state.local_inventory = sides.inventory_local(state)
    if sides.will_decode_parquet(state):
        sides.preload_parquet_checks(after=pending.logged_in)
    agent = pending.agent()
    state.channel = agent.stats
    try:
        return _ACTIONS[state.action](state, agent)
    except BaseException:
        _abort_remote(agent, state.request.dataset)
        raise


def _save_local_hashes(state: SyncRun) -> None:
    """Persist what this command can vouch for; a side where it cannot be written keeps no cache."""
    with contextlib.suppress(OSError):
        state.store.save(state.hashes)


def _finish(state: SyncRun, transfer_state: str) -> dict:
    """Print the audit block and write the audit JSON; a JSON that cannot be written is `staging`."""
    state.finished = True
    state.timings.step(None)
    audit = state.audit(transfer_state)
    with state.timings.span("audit write"):
        return publish(audit, *_published(state))


def _finish_failed(state: SyncRun, error: UsrError, transfer_state: str = "FAILED") -> None:
    """Record `error` in the audit; an audit that cannot be written is a warning beside it, never
    in its place."""
    state.record.error = error.as_dict()
    state.finished = True
    state.timings.step(None)
    publish_failure(state.audit(transfer_state), *_published(state))


def _published(state: SyncRun) -> tuple[Callable[[str], None], Path | None, str, str]:
    """Where the audit goes: the printed block, the JSON file, the local side's name, the dataset."""
    request = state.request
    return request.echo, request.audit_json_out, f"local {request.dataset}", request.dataset


def _abort_remote(agent: AgentClient, dataset: str) -> None:
    with contextlib.suppress(UsrError):
        agent.request({"op": "abort", "dataset": dataset})


def _compare(
    state: SyncRun, agent: AgentClient, action: str, base: dict[str, dict] | None, *, streamed: bool = False
) -> tuple[Manifest, Manifest]:
    """Both manifests, then their diff (the audit's sections)."""
    local, remote = sides.read_manifests(state, agent, action, base, streamed=streamed)
    with state.timings.span("plan"):
        state.diff = diff_manifests(local, remote, state.request.opts)
    return local, remote


def _raise_plan_failure(plan: Plan, dataset: str) -> None:
    failure = plan.first_failure()
    if failure:
        family, message, paths = failure
        raise FAMILY_BY_NAME[family](f"{dataset}: {message}", paths=paths, dataset=dataset)


def do_diff(state: SyncRun, agent: AgentClient) -> str:
    base = base_store.load_base(state.request.root, state.request.dataset, state.request.remote)
    local, remote = _compare(state, agent, "pull", base)
    state.record.direction = direction(local, remote, base, state.diff.changed)
    with state.timings.span("plan"):
        plan = plan_sync("pull", local, remote, base, state.request.opts, state.diff.primary_mode)
    corruption = Plan("diff", problems=[p for p in plan.problems if p.corruption])
    failure = corruption.first_failure()
    if failure:
        family, message, paths = failure
        error = FAMILY_BY_NAME[family](f"{state.request.dataset}: {message}", paths=paths)
        _finish_failed(state, error, "DIFF-ONLY")
        raise error
    return "DIFF-ONLY"


def _plan(state: SyncRun, agent: AgentClient, action: str) -> Plan:
    base = base_store.load_base(state.request.root, state.request.dataset, state.request.remote)
    state.base = base
    local, remote = _compare(state, agent, action, base, streamed=action == "pull")
    missing = primary_missing(action, local, remote)
    if missing:
        raise VerifyError(f"{state.request.dataset}: {missing}", paths=["records.parquet"])
    with state.timings.span("plan"):
        plan = plan_sync(action, local, remote, base, state.request.opts, state.diff.primary_mode)
    _raise_plan_failure(plan, state.request.dataset)
    if EVENTS_FILE in plan.kept:
        verify.check_kept_log(action, state.local_dir, state.request.dataset, agent)
    return plan


def _gate(state: SyncRun, plan: Plan) -> str | None:
    """NO-OP, DRY-RUN or a declined prompt end the command before any lock is taken."""
    request = state.request
    state.record.plan = sizes.plan_block(state.action, plan, state.local, state.remote)
    state.record.kept = {"side": "local" if state.action == "pull" else "remote", "paths": plan.kept}
    if plan.noop:
        if not state.diff.changed:
            base = base_from(state.local, state.remote)
            if base != state.base:  # an unchanged base is not written again
                base_store.save_base(request.root, request.dataset, request.remote, base)
        return "NO-OP"

    def question() -> str:
        return sizes.question(state.audit("DIFF-ONLY"), state.action, plan, state.local, state.remote)

    return gate(request.opts, request.confirm, f"{state.action} of {request.dataset}", question)


def do_pull(state: SyncRun, agent: AgentClient) -> str:
    plan = _plan(state, agent, "pull")
    pull.check_bootstrap_identity(state, agent)
    gated = _gate(state, plan)
    if gated:
        sides.settle_remote_hashes(state, agent)
        return gated
    ahead = pull.PullAhead(state, plan)
    created = not state.local_dir.exists()
    held = lock_local(state)
    try:
        lock_remote(state, agent, exclusive=False)
        agent.ask_ahead(sides.replan_request(state))  # the re-plan's two scans at once
        plan = _plan(state, agent, "pull")
        source = pull.receive(state, agent, plan, ahead)
        _post_verify_and_record_base(state, source, plan.kept, lambda: sides.scan_local(state))
    except BaseException:
        if created:
            pull.drop_created_local(state)
        raise
    finally:
        release_all(held)
    return "TRANSFERRED"


def do_push(state: SyncRun, agent: AgentClient) -> str:
    request = state.request
    verify.check_local_log(state.local_dir, request.dataset)
    plan = _plan(state, agent, "push")
    gated = _gate(state, plan)
    if gated:
        return gated
    held = lock_local(state)
    try:
        lock_remote(state, agent, exclusive=True)
        plan = _plan(state, agent, "push")
        source, target = state.local, state.remote
        push.send(state, agent, plan, source, target)
        _post_verify_and_record_base(state, source, plan.kept, lambda: sides.scan_remote(state, agent))
    finally:
        release_all(held)
    return "TRANSFERRED"


def _post_verify_and_record_base(
    state: SyncRun, source: Manifest, kept: list[str], scan_target: Callable[[], Manifest]
) -> None:
    """Re-scan the written side and re-diff it against the source; the result goes into the audit
    before it may refuse the transfer, and only a clean one becomes the next sync's base."""
    request = state.request
    fault_point("before-post-verify")
    request.progress.phase("post-verify")
    target = scan_target()
    post = verify.post_diff(target, source, state.action, kept, request.opts)
    state.record.post = post_report(post)
    verify.check_post(post, state.action, request.dataset)
    base_store.save_base(request.root, request.dataset, request.remote, base_from(source, target, kept))


_ACTIONS = {"diff": do_diff, "pull": do_pull, "push": do_push}
