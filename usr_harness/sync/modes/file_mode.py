"""`usr diff | pull | push FILE REMOTE`: one file, verified by sha256, staged beside its target, swapped in.

One SSH connection per command, like a dataset sync. The side being written is
locked through its sibling `.<name>.usr.lock`; the new bytes land in a
`.usr-tmp-*` file beside the target and replace it by rename only while the target
still holds what the plan saw. A target changed since the last sync is refused
unless --force, an identical file moves no bytes, and every outcome writes the
audit, failures included.

The file is a one-entry manifest (in the primary's place): the dataset sync's diff,
plan (`plan_file`), verification and audit decide and report; this module maps the
remote path and does the file operations (stat, lock, stage, send or receive, rename).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from usr_harness.errors import FAMILY_BY_NAME, UsrError, VerifyError
from usr_harness.sync.command import gate, load_hooks, publish, publish_failure
from usr_harness.sync.modes.file_base import load_file_base, save_file_base
from usr_harness.sync.modes.file_moves import local_parents, post_verify, pull_file, push_file
from usr_harness.sync.modes.file_run import FileRun, FileSide, local_side
from usr_harness.sync.modes.targets import file_remote_path
from usr_harness.sync.plan.diff import diff_manifests
from usr_harness.sync.plan.planner import plan_file
from usr_harness.sync.record.audit import render_plain
from usr_harness.sync.remote.far.file_agent import (
    FileRefusal,
    file_entry,
    lock_file_target,
    refuse_non_file,
)
from usr_harness.sync.remote.near.client import AgentClient
from usr_harness.sync.remote.near.connect import connect_agent
from usr_harness.sync.remote.near.profiles import get_profile
from usr_harness.sync.request import FileRequest


def run(action: str, request: FileRequest) -> dict:
    """Run one file-mode command; returns the audit, raises the UsrError family after writing it."""
    request.opts.check(action)
    load_hooks()
    state = FileRun(action, request)
    try:
        profile = get_profile(request.remote, request.remotes_config)
        state.remote_path = file_remote_path(
            request.local,
            remote_path=request.remote_path,
            repo_root=request.repo_root,
            profile_repo_root=profile.repo_root,
            profile_local_repo_root=profile.local_repo_root,
            env=os.environ,
            remote=profile.name,
        )
        request.progress.phase("connect")
        with connect_agent(profile) as agent:
            try:
                transfer_state = _ACTIONS[action](state, agent)
            except BaseException:
                with contextlib.suppress(UsrError):
                    agent.request({"op": "file_abort", "path": state.remote_path})
                raise
    except UsrError as error:
        state.record.error = error.as_dict()
        publish_failure(state.audit("FAILED"), *_published(state))
        raise
    return publish(state.audit(transfer_state), *_published(state))


def _published(state: FileRun) -> tuple[Callable[[str], None], Path | None, str]:
    """Where the audit goes: the printed block, the JSON file, and the local side's name."""
    return state.request.echo, state.request.audit_json_out, f"local {state.target}"


def _stat(state: FileRun, agent: AgentClient, *, digest: bool) -> None:
    """Both sides in one pass each; hashes when the verify mode (or a transfer) needs them."""
    verify = state.request.opts.verify
    digest = digest or verify in ("hash", "auto")
    parquet = verify in ("parquet", "auto") and state.target.endswith(".parquet")
    with local_side():
        local = file_entry(state.target, digest=digest, parquet=parquet)
        refuse_non_file(state.target, local)
    request = {"op": "file_stat", "path": state.remote_path, "digest": digest, "parquet": parquet}
    remote = agent.request(request)
    try:
        refuse_non_file(state.remote_path, remote)
    except FileRefusal as refusal:
        raise VerifyError(f"remote {refusal.message}", paths=refusal.paths, side="remote") from None
    state.local, state.remote = FileSide.of(local), FileSide.of(remote)
    state.diff = diff_manifests(*state.manifests(), state.request.opts)
    # The same mode the diff chose; the file's own warnings name the file, not records.parquet.
    _mode, state.warnings = effective_mode(verify, state.local, state.remote, state.target)


def _usable(stats: dict | None) -> bool:
    return bool(stats) and "error" not in stats


def effective_mode(verify: str, local: FileSide, remote: FileSide, name: str) -> tuple[str, list[str]]:
    """`auto` is hash when both sides hold a digest, else size; every fallback prints a WARNING.

    A regular file always has a size, so auto never needs the parquet rung of the
    dataset ladder; `--verify parquet` asks for rows/cols directly and falls back to
    size when a side cannot read them.
    """
    both = local.exists and remote.exists
    if verify == "parquet" and both and not (_usable(local.parquet) and _usable(remote.parquet)):
        return "parquet", [f"WARNING: --verify parquet fell back to size for {name} (no rows/cols)"]
    if verify != "auto":
        return verify, []
    if not both or (local.sha256 and remote.sha256):
        return "hash", []
    return "size", [f"WARNING: --verify auto fell back from hash to size for {name}"]


def _plan(state: FileRun) -> bool:
    """True when nothing needs to move; refuses a missing source and a target changed since the base."""
    base = None
    if state.diff.changed:  # a file both sides agree on never needs (or fails on) the base
        base = load_file_base(state.request.local, state.request.remote, state.remote_path)
    plan = plan_file(
        state.action,
        *state.manifests(),
        base,
        names={"local": state.target, "remote": state.remote_path},
        primary_mode=state.diff.primary_mode,
        force=state.request.opts.force,
    )
    if plan.problems:
        problem = plan.problems[0]
        raise FAMILY_BY_NAME[problem.family](problem.message, paths=[problem.path], side=problem.side)
    if plan.forced:
        state.record.forced = plan.forced
    return plan.noop


def _save_base(state: FileRun, written: FileSide) -> None:
    save_file_base(state.request.local, state.request.remote, state.remote_path, written.sha256, written.size)


def _noop(state: FileRun) -> str:
    """Nothing moves; the agreed bytes become the base when both digests prove them (a size never does)."""
    if state.local.sha256 and state.local.sha256 == state.remote.sha256:
        _save_base(state, state.local)
    return "NO-OP"


def _gate(state: FileRun) -> str | None:
    """DRY-RUN or a declined prompt end the command before any lock is taken."""
    target = state.target

    def question() -> str:
        return f"{render_plain(state.audit('DIFF-ONLY'))}\n{state.action} {target}?"

    return gate(state.request.opts, state.request.confirm, f"{state.action} of {target}", question)


@contextlib.contextmanager
def _locked(state: FileRun, agent: AgentClient, *, write_local: bool) -> Iterator[None]:
    """Local lock first, then remote: exclusive on the side being written, shared on the source."""
    timeout = state.request.opts.lock_timeout
    with local_side():
        held = lock_file_target(state.target, exclusive=write_local, timeout=timeout)
    try:
        request = {"op": "file_lock", "path": state.remote_path, "exclusive": not write_local}
        agent.request({**request, "timeout": timeout})
        yield
    finally:
        held.release()


def do_diff(state: FileRun, agent: AgentClient) -> str:
    _stat(state, agent, digest=False)
    return "DIFF-ONLY"


def do_pull(state: FileRun, agent: AgentClient) -> str:
    return _transfer(state, agent, write_local=True, move=pull_file)


def do_push(state: FileRun, agent: AgentClient) -> str:
    return _transfer(state, agent, write_local=False, move=push_file)


def _transfer(
    state: FileRun,
    agent: AgentClient,
    *,
    write_local: bool,
    move: Callable[[FileRun, AgentClient], tuple[int, FileSide]],
) -> str:
    """Plan, gate, lock, plan again under the locks, move the file, post-verify, record the base."""
    progress = state.request.progress
    progress.phase("compare")
    _stat(state, agent, digest=False)
    if _plan(state):
        return _noop(state)
    gated = _gate(state)
    if gated:
        return gated
    parents = local_parents(state.target) if write_local else contextlib.nullcontext()
    with parents, _locked(state, agent, write_local=write_local):
        _stat(state, agent, digest=True)
        if _plan(state):
            return _noop(state)
        stats = agent.stats
        if write_local:
            progress.transfer(1, state.remote.size, lambda: (stats.files_received, stats.bytes_received))
        else:
            progress.transfer(1, state.local.size, lambda: (stats.files_sent, stats.bytes_sent))
        moved, after = move(state, agent)
        progress.phase("post-verify")
        post_verify(state, after)
        _save_base(state, after)
    state.record.transfer = {"files": 1, "bytes": moved, "deleted": 0}
    return "TRANSFERRED"


_ACTIONS = {"diff": do_diff, "pull": do_pull, "push": do_push}
