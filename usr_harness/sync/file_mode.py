"""`usr diff | pull | push FILE REMOTE`: one file, verified by sha256, staged beside its target, swapped in.

One SSH connection per command, like a dataset sync. The side being written is
locked through its sibling `.<name>.usr.lock`; the new bytes land in a
`.usr-tmp-*` file beside the target and replace it by rename only while the target
still holds what the plan saw. A target changed since the last sync is refused
unless --force, an identical file moves no bytes, and every outcome writes the
audit, failures included.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from usr_harness.errors import (
    FAMILY_BY_NAME,
    ConfigError,
    DivergedError,
    StagingError,
    UsageError,
    UsrError,
    VerifyError,
)
from usr_harness.sync.audit import OUTPUT_VERSION, AuditRecord, render_plain, write_audit
from usr_harness.sync.diff import same_content
from usr_harness.sync.file_base import load_file_base, save_file_base
from usr_harness.sync.hooks import HookError, load_from_env
from usr_harness.sync.manifest import FileEntry
from usr_harness.sync.options import SyncOptions
from usr_harness.sync.progress import SILENT, Observer
from usr_harness.sync.remote.client import READ_CHUNK, AgentClient
from usr_harness.sync.remote.connect import connect_agent
from usr_harness.sync.remote.file_agent import (
    FileRefusal,
    drop_file_stage,
    file_entry,
    file_lock_path,
    lock_file_target,
    open_file_stage,
    promote_file,
    refuse_non_file,
)
from usr_harness.sync.remote.profiles import get_profile
from usr_harness.sync.targets import file_remote_path


@dataclass
class FileRequest:
    local: Path
    remote: str
    remotes_config: Path | None
    remote_path: str | None = None
    repo_root: Path | None = None
    opts: SyncOptions = field(default_factory=SyncOptions)
    audit_json_out: Path | None = None
    confirm: Callable[[str], bool] | None = None
    echo: Callable[[str], None] = print
    progress: Observer = SILENT


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

    def entry(self) -> FileEntry:
        return FileEntry(path="", section="primary", kind="file", size=self.size, sha256=self.sha256)

    def report(self) -> dict | None:
        if not self.exists:
            return None
        return {"size": self.size, "sha256": self.sha256, **(self.parquet or {})}


@dataclass
class _FileRun:
    """What one command learned so far: enough to write an honest audit at any failure."""

    action: str
    request: FileRequest
    remote_path: str | None = None
    local: FileSide | None = None
    remote: FileSide | None = None
    mode: str | None = None
    changed: bool | None = None
    warnings: list[str] = field(default_factory=list)
    record: AuditRecord = field(default_factory=AuditRecord)

    @property
    def target(self) -> str:
        return str(self.request.local)

    def audit(self, transfer_state: str) -> dict:
        data: dict = {
            "action": self.action,
            "transfer_state": transfer_state,
            "mode": "file",
            "target": self.target,
            "remote": self.request.remote,
            "remote_path": self.remote_path,
            "verify": {"primary": self.request.opts.verify},
            "up_to_date": None if self.changed is None else not self.changed,
        }
        if self.mode is not None:
            data["verify"]["primary_effective"] = self.mode
        if self.local is not None and self.remote is not None:
            data["primary"] = {
                "changed": self.changed,
                "local": self.local.report(),
                "remote": self.remote.report(),
            }
        data["warnings"] = list(self.warnings)
        data.update(self.record.blocks())
        return {"usr_output_version": OUTPUT_VERSION, "data": data}


def run(action: str, request: FileRequest) -> dict:
    """Run one file-mode command; returns the audit, raises the UsrError family after writing it."""
    request.opts.check(action)
    try:
        load_from_env()
    except HookError as error:
        raise ConfigError(str(error)) from None
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
        _finish(state, "FAILED")
        raise
    return _finish(state, transfer_state)


def _finish(state: _FileRun, transfer_state: str) -> dict:
    audit = state.audit(transfer_state)
    if state.request.audit_json_out:
        write_audit(state.request.audit_json_out, audit)
    state.request.echo(render_plain(audit))
    return audit


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
    state.mode, state.warnings = effective_mode(verify, state.local, state.remote, state.target)
    state.changed = _differs(state.local, state.remote, state.mode)


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


def _differs(local: FileSide, remote: FileSide, mode: str) -> bool:
    if not (local.exists and remote.exists):
        return local.exists != remote.exists
    return not same_content(local.entry(), remote.entry(), mode, (local.parquet, remote.parquet))


def _sides(state: _FileRun) -> tuple[tuple[str, str, FileSide], tuple[str, str, FileSide]]:
    """(side, path, file) of the source, then of the target."""
    local = ("local", state.target, state.local)
    remote = ("remote", state.remote_path, state.remote)
    return (remote, local) if state.action == "pull" else (local, remote)


def _unchanged_since(side: FileSide, base: dict | None) -> bool:
    if base is None:
        return False
    if side.sha256 and base.get("sha256"):
        return side.sha256 == base["sha256"]
    return side.size == base.get("size")


def _plan(state: _FileRun) -> bool:
    """True when nothing needs to move; refuses a missing source and a target changed since the base."""
    (source_side, source_path, source), (target_side, target_path, target) = _sides(state)
    if not source.exists:
        raise VerifyError(f"{source_side} {source_path} is missing", paths=[source_path], side=source_side)
    if not state.changed:
        return True
    base = load_file_base(state.request.local, state.request.remote, state.remote_path)
    if target.exists and not _unchanged_since(target, base):
        if not state.request.opts.force:
            raise DivergedError(
                f"{target_side} {target_path} changed since the last sync; refusing to overwrite it "
                "(use --force to override)",
                paths=[target_path],
                side=target_side,
            )
        state.record.forced = [target_path]
    return False


def _save_base(state: _FileRun, written: FileSide) -> None:
    save_file_base(state.request.local, state.request.remote, state.remote_path, written.sha256, written.size)


def _noop(state: _FileRun) -> str:
    """Nothing moves; the agreed bytes become the base when both digests prove them (a size never does)."""
    if state.local.sha256 and state.local.sha256 == state.remote.sha256:
        _save_base(state, state.local)
    return "NO-OP"


def _gate(state: _FileRun) -> str | None:
    """DRY-RUN or a declined prompt end the command before any lock is taken."""
    request = state.request
    if request.opts.dry_run:
        return "DRY-RUN"
    if not request.opts.yes:
        if request.confirm is None:
            raise UsageError(
                f"{state.action} of {state.target} needs confirmation: pass -y (no terminal to ask on)"
            )
        question = f"{render_plain(state.audit('DIFF-ONLY'))}\n{state.action} {state.target}?"
        if not request.confirm(question):
            raise UsageError(f"{state.action} of {state.target} declined; nothing changed")
    return None


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
        local, remote = (after, state.remote) if write_local else (state.local, after)
        progress.phase("post-verify")
        _post_verify(state, local, remote)
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
        _verify_parquet(Path(state.target), f"local {state.target}")
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
            _verify_parquet(Path(staged.path), f"staged copy of remote {state.remote_path}")
        expect = state.local.sha256 if state.local.exists else None
        state.request.progress.phase("promote")
        with _local_side():
            promote_file(staged.path, state.target, expect)
    except BaseException:
        drop_file_stage(staged)
        raise
    return staged.size


def _verify_parquet(path: Path, what: str) -> None:
    try:
        from usr_harness.dataset.parquet_io import verify_parquet

        verify_parquet(path)
    except UsrError as error:
        raise VerifyError(f"{what} fails parquet checksum decoding: {error}", paths=[str(path)]) from None


def _post_verify(state: _FileRun, local: FileSide, remote: FileSide) -> None:
    changed = _differs(local, remote, "hash")
    state.record.post = {"up_to_date": not changed, "changed": {"primary": changed}}
    if changed:
        raise VerifyError(
            f"{state.target}: post-{state.action} verification found differences after transfer"
        )


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


_ACTIONS = {"diff": do_diff, "pull": do_pull, "push": do_push}
