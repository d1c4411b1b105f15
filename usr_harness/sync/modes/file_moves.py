"""File mode's byte moves: stream the file into a stage beside its target, check its sha256, swap it in."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from usr_harness.errors import VerifyError
from usr_harness.sync.commit.verify import check_post, post_diff, verify_parquet_as
from usr_harness.sync.modes.file_run import FileRun, FileSide, local_side
from usr_harness.sync.options import SyncOptions
from usr_harness.sync.remote.far.file_agent import (
    drop_file_stage,
    file_entry,
    file_lock_path,
    open_file_stage,
    promote_file,
)
from usr_harness.sync.remote.near.client import READ_CHUNK, AgentClient


@contextlib.contextmanager
def local_parents(target: str) -> Iterator[None]:
    """A pull may land in folders that do not exist yet, as a dataset pull does; a failed pull removes them.

    Only folders this command made are removed, with the lock file it left in the
    innermost one, and only while they are empty otherwise: nothing else is touched.
    """
    made = []
    folder = os.path.dirname(target)
    while not os.path.lexists(folder):
        made.append(folder)
        folder = os.path.dirname(folder)
    with local_side():
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


def pull_file(state: FileRun, agent: AgentClient) -> tuple[int, FileSide]:
    moved = _receive(state, agent)
    with local_side():
        return moved, FileSide.of(file_entry(state.target, digest=True, parquet=False))


def push_file(state: FileRun, agent: AgentClient) -> tuple[int, FileSide]:
    if state.target.endswith(".parquet"):
        verify_parquet_as(Path(state.target), f"local {state.target}", [state.target])
    moved = _send(state, agent)
    expect = state.remote.sha256 if state.remote.exists else None
    state.request.progress.phase("promote")
    agent.request(
        {"op": "file_promote", "path": state.remote_path, "sha256": state.local.sha256, "expect": expect}
    )
    return moved, FileSide.of(agent.request({"op": "file_stat", "path": state.remote_path, "digest": True}))


def _receive(state: FileRun, agent: AgentClient) -> int:
    """Stream the remote file into a stage beside the local target, verify it, then swap it in."""
    with local_side():
        staged = open_file_stage(state.target)
    try:
        _header, blocks = agent.request_stream({"op": "file_get", "path": state.remote_path})
        with local_side():
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
        with local_side():
            promote_file(staged.path, state.target, expect)
    except BaseException:
        drop_file_stage(staged)
        raise
    return staged.size


def post_verify(state: FileRun, after: FileSide) -> None:
    """The re-diff by sha256 after the swap must find the target equal to the source."""
    pulled = state.action == "pull"
    local = (after if pulled else state.local).manifest("local")
    remote = (state.remote if pulled else after).manifest("remote")
    target, source = (local, remote) if pulled else (remote, local)
    post = post_diff(target, source, state.action, [], _BY_HASH)
    changed = post.sections["primary"].changed
    state.record.post = {"up_to_date": not post.changed, "changed": {"primary": changed}}
    check_post(post, state.action, state.target)


def _send(state: FileRun, agent: AgentClient) -> int:
    """Stream the local file into a remote stage; a file that changes meanwhile fails the sha256 check."""
    size = state.local.size
    agent.send_request({"op": "file_put", "path": state.remote_path, "size": size})
    with local_side(), open(os.open(state.target, os.O_RDONLY | os.O_NOFOLLOW), "rb", buffering=0) as handle:
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
