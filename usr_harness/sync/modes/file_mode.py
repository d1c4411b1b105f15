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
from dataclasses import dataclass, field
from pathlib import Path

from usr_harness.dataset.layout import RECORDS_FILE
from usr_harness.errors import FAMILY_BY_NAME, StagingError, UsrError, VerifyError
from usr_harness.sync.command import gate, load_hooks, publish, publish_failure
from usr_harness.sync.commit.verify import check_post, post_diff, verify_parquet_as
from usr_harness.sync.inventory.manifest import Manifest
from usr_harness.sync.modes.file_base import load_file_base, save_file_base
from usr_harness.sync.modes.targets import file_remote_path
from usr_harness.sync.options import SyncOptions
from usr_harness.sync.plan.diff import DiffResult, diff_manifests
from usr_harness.sync.plan.planner import plan_file
from usr_harness.sync.record.audit import AuditRecord, build_file_audit, render_plain
from usr_harness.sync.remote.far.file_agent import (
    FileRefusal,
    drop_file_stage,
    file_entry,
    file_lock_path,
    lock_file_target,
    open_file_stage,
    promote_file,
    refuse_non_file,
)
from usr_harness.sync.remote.near.client import READ_CHUNK, AgentClient
from usr_harness.sync.remote.near.connect import connect_agent
from usr_harness.sync.remote.near.profiles import get_profile
from usr_harness.sync.request import FileRequest


@dataclass(frozen=True)
class FileSide:
    """One side's file as a stat reported it."""

    exists: bool
    size: int = 0
    sha256: str | None = None
    parquet: dict | None = None

    @classmethod
    def of(cls, entry: dict) -> FileSide:
        if not entry.get("exists"):
            return cls(False)
        return cls(True, entry["size"], entry.get("sha256"), entry.get("parquet"))

    def manifest(self, side: str) -> Manifest:
        """The one-entry manifest the shared diff, plan and audit read: the file in the primary's place."""
        if not self.exists:
            return Manifest(side, False)
        entry = {"path": RECORDS_FILE, "section": "primary", "kind": "file", "size": self.size}
        scan = {"exists": True, "files": [{**entry, "sha256": self.sha256}], "primary": self.parquet}
        return Manifest.from_scan(side, scan)


@dataclass
class _FileRun:
    """What one command learned so far: enough to write an honest audit at any failure."""

    action: str
    request: FileRequest
    remote_path: str | None = None
    local: FileSide | None = None
    remote: FileSide | None = None
    diff: DiffResult | None = None
    warnings: list[str] = field(default_factory=list)
    record: AuditRecord = field(default_factory=AuditRecord)

    @property
    def target(self) -> str:
        return str(self.request.local)

    def manifests(self) -> tuple[Manifest, Manifest] | tuple[None, None]:
        if self.local is None or self.remote is None:
            return None, None
        return self.local.manifest("local"), self.remote.manifest("remote")

    def audit(self, transfer_state: str) -> dict:
        local, remote = self.manifests()
        return build_file_audit(
            action=self.action,
            transfer_state=transfer_state,
            target=self.target,
            remote=self.request.remote,
            remote_path=self.remote_path,
            verify=self.request.opts.verify,
            local=local,
            remote_manifest=remote,
            diff=self.diff,
            warnings=self.warnings,
            record=self.record,
        )


def run(action: str, request: FileRequest) -> dict:
    """Run one file-mode command; returns the audit, raises the UsrError family after writing it."""
    request.opts.check(action)
    load_hooks()
    state = _FileRun(action, request)
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


def _published(state: _FileRun) -> tuple[Callable[[str], None], Path | None, str]:
    """Where the audit goes: the printed block, the JSON file, and the local side's name."""
    return state.request.echo, state.request.audit_json_out, f"local {state.target}"


@contextlib.contextmanager
def _local_side() -> Iterator[None]:
    """The shared file functions refuse with a family name; locally that becomes the UsrError family."""
    try:
        yield
    except FileRefusal as refusal:
        family = FAMILY_BY_NAME[refusal.family]
        raise family(f"local {refusal.message}", paths=refusal.paths, side="local") from None
    except OSError as error:
        raise StagingError(f"local {error}", side="local") from None


def _stat(state: _FileRun, agent: AgentClient, *, digest: bool) -> None:
    """Both sides in one pass each; hashes when the verify mode (or a transfer) needs them."""
    verify = state.request.opts.verify
    digest = digest or verify in ("hash", "auto")
    parquet = verify in ("parquet", "auto") and state.target.endswith(".parquet")
    with _local_side():
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


def _plan(state: _FileRun) -> bool:
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


def _save_base(state: _FileRun, written: FileSide) -> None:
    save_file_base(state.request.local, state.request.remote, state.remote_path, written.sha256, written.size)


def _noop(state: _FileRun) -> str:
    """Nothing moves; the agreed bytes become the base when both digests prove them (a size never does)."""
    if state.local.sha256 and state.local.sha256 == state.remote.sha256:
        _save_base(state, state.local)
    return "NO-OP"


def _gate(state: _FileRun) -> str | None:
    """DRY-RUN or a declined prompt end the command before any lock is taken."""
    target = state.target

    def question() -> str:
        return f"{render_plain(state.audit('DIFF-ONLY'))}\n{state.action} {target}?"

    return gate(state.request.opts, state.request.confirm, f"{state.action} of {target}", question)


@contextlib.contextmanager
def _locked(state: _FileRun, agent: AgentClient, *, write_local: bool) -> Iterator[None]:
    """Local lock first, then remote: exclusive on the side being written, shared on the source."""
    timeout = state.request.opts.lock_timeout
    with _local_side():
        held = lock_file_target(state.target, exclusive=write_local, timeout=timeout)
    try:
        request = {"op": "file_lock", "path": state.remote_path, "exclusive": not write_local}
        agent.request({**request, "timeout": timeout})
        yield
    finally:
        held.release()


def do_diff(state: _FileRun, agent: AgentClient) -> str:
    _stat(state, agent, digest=False)
    return "DIFF-ONLY"


def do_pull(state: _FileRun, agent: AgentClient) -> str:
    return _transfer(state, agent, write_local=True, move=_pull_file)


def do_push(state: _FileRun, agent: AgentClient) -> str:
    return _transfer(state, agent, write_local=False, move=_push_file)


def _transfer(
    state: _FileRun,
    agent: AgentClient,
    *,
    write_local: bool,
    move: Callable[[_FileRun, AgentClient], tuple[int, FileSide]],
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
    parents = _local_parents(state.target) if write_local else contextlib.nullcontext()
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
        _post_verify(state, after)
        _save_base(state, after)
    state.record.transfer = {"files": 1, "bytes": moved, "deleted": 0}
    return "TRANSFERRED"


@contextlib.contextmanager
def _local_parents(target: str) -> Iterator[None]:
    """A pull may land in folders that do not exist yet, as a dataset pull does; a failed pull removes them.

    Only folders this command made are removed, with the lock file it left in the
    innermost one, and only while they are empty otherwise: nothing else is touched.
    """
    made = []
    folder = os.path.dirname(target)
    while not os.path.lexists(folder):
        made.append(folder)
        folder = os.path.dirname(folder)
    with _local_side():
        for path in reversed(made):
            os.mkdir(path)
    try:
        yield
    except BaseException:
        if made:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(file_lock_path(target))
        for path in made:
            with contextlib.suppress(OSError):
                os.rmdir(path)
        raise


def _pull_file(state: _FileRun, agent: AgentClient) -> tuple[int, FileSide]:
    moved = _receive(state, agent)
    with _local_side():
        return moved, FileSide.of(file_entry(state.target, digest=True, parquet=False))


def _push_file(state: _FileRun, agent: AgentClient) -> tuple[int, FileSide]:
    if state.target.endswith(".parquet"):
        verify_parquet_as(Path(state.target), f"local {state.target}", [state.target])
    moved = _send(state, agent)
    expect = state.remote.sha256 if state.remote.exists else None
    state.request.progress.phase("promote")
    agent.request(
        {"op": "file_promote", "path": state.remote_path, "sha256": state.local.sha256, "expect": expect}
    )
    return moved, FileSide.of(agent.request({"op": "file_stat", "path": state.remote_path, "digest": True}))


def _receive(state: _FileRun, agent: AgentClient) -> int:
    """Stream the remote file into a stage beside the local target, verify it, then swap it in."""
    with _local_side():
        staged = open_file_stage(state.target)
    try:
        _header, blocks = agent.request_stream({"op": "file_get", "path": state.remote_path})
        with _local_side():
            for block in blocks:
                staged.write(block)
            digest = staged.close()
        state.request.progress.phase("verify")
        if (staged.size, digest) != (state.remote.size, state.remote.sha256):
            raise VerifyError(
                f"staged copy of remote {state.remote_path} does not match its sha256 "
                "(did it change during the transfer?)",
                paths=[state.target],
            )
        if state.target.endswith(".parquet"):
            staged_path = Path(staged.path)
            verify_parquet_as(staged_path, f"staged copy of remote {state.remote_path}", [str(staged_path)])
        expect = state.local.sha256 if state.local.exists else None
        state.request.progress.phase("promote")
        with _local_side():
            promote_file(staged.path, state.target, expect)
    except BaseException:
        drop_file_stage(staged)
        raise
    return staged.size


def _post_verify(state: _FileRun, after: FileSide) -> None:
    """The re-diff by sha256 after the swap must find the target equal to the source."""
    pulled = state.action == "pull"
    local = (after if pulled else state.local).manifest("local")
    remote = (state.remote if pulled else after).manifest("remote")
    target, source = (local, remote) if pulled else (remote, local)
    post = post_diff(target, source, state.action, [], _BY_HASH)
    changed = post.sections["primary"].changed
    state.record.post = {"up_to_date": not post.changed, "changed": {"primary": changed}}
    check_post(post, state.action, state.target)


def _send(state: _FileRun, agent: AgentClient) -> int:
    """Stream the local file into a remote stage; a file that changes meanwhile fails the sha256 check."""
    size = state.local.size
    agent.send_request({"op": "file_put", "path": state.remote_path, "size": size})
    with _local_side(), open(os.open(state.target, os.O_RDONLY | os.O_NOFOLLOW), "rb", buffering=0) as handle:
        remaining = size
        while remaining:
            # A shrinking file still fills the announced size so the channel stays in step.
            block = handle.read(min(READ_CHUNK, remaining)) or b"\0" * min(READ_CHUNK, remaining)
            agent.send_raw(block)
            remaining -= len(block)
    reply = agent.reply()
    if (reply["size"], reply["sha256"]) != (size, state.local.sha256):
        raise VerifyError(
            f"remote staged copy of {state.target} does not match its sha256 (did it change while sent?)",
            paths=[state.target],
        )
    return size


_BY_HASH = SyncOptions(verify="hash")

_ACTIONS = {"diff": do_diff, "pull": do_pull, "push": do_push}
