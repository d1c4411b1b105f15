"""A pull's local side: the bootstrap check, the staged receive, its verification and the promotion."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from usr_harness.dataset.journal import journal_path, journal_pending
from usr_harness.dataset.layout import META_FILE
from usr_harness.errors import StagingError, VerifyError
from usr_harness.sync.commit import promotion, verify
from usr_harness.sync.hooks import fault_point
from usr_harness.sync.inventory import sides
from usr_harness.sync.inventory.manifest import Manifest
from usr_harness.sync.inventory.scan import scan_dataset
from usr_harness.sync.move import space
from usr_harness.sync.move.basis import BasisFile
from usr_harness.sync.move.chunks import DELTA_MIN_BYTES
from usr_harness.sync.move.receive import ReceivingStage, receive_order
from usr_harness.sync.move.transfer import mid_transfer_fault, moving, transfer_block
from usr_harness.sync.plan.model import Plan
from usr_harness.sync.state import SyncRun
from usr_harness.sync.transport import Transport


def check_bootstrap_identity(state: SyncRun, agent: Transport) -> None:
    """On a bootstrap pull, the remote dataset must call itself by the id we asked for."""
    if state.local.exists or META_FILE not in state.remote.files:
        return
    seen: list[str] = []

    def sink(path: str, size: int, blocks: Iterator[bytes]) -> None:
        seen.append(b"".join(blocks).decode("utf-8", "replace"))

    agent.get_files(state.request.dataset, [META_FILE], sink)
    first = seen[0].splitlines()[0].strip() if seen and seen[0] else ""
    expected = f"name: {state.request.dataset}"
    if first != expected:
        message = f"bootstrap id mismatch: remote meta.md says {first!r}, expected {expected!r}"
        if state.request.opts.strict_bootstrap_id:
            raise VerifyError(f"{state.request.dataset}: {message}", paths=[META_FILE])
        state.request.echo(f"WARNING: {message}")


def drop_created_local(state: SyncRun) -> None:
    """A bootstrap that failed before promotion must not leave an empty dataset folder behind."""
    folder = str(state.local_dir)
    if (
        os.path.isdir(folder)
        and not promotion.needs_recovery(folder)
        and not scan_dataset(folder, hash_sections=[])["files"]
    ):
        shutil.rmtree(folder, ignore_errors=True)


def receive(state: SyncRun, agent: Transport, plan: Plan, ahead: PullAhead) -> Manifest:
    """Stage, verify and promote; returns the remote manifest with every hash settled."""
    source = state.remote
    folder = str(state.local_dir)
    fault_point("before-staging")
    needed = _preflight_local(state, plan)
    stage = promotion.new_stage(folder)
    receiving = None
    try:
        fault_point("after-preflight", stage)
        checks = verify.StagedChecks(state.request.dataset, state.local_dir, stage, source)
        receiving = ReceivingStage(stage, checks.check, on_file=mid_transfer_fault(), hashes=state.hashes)
        with receiving:
            moving(state, plan, source, lambda: (agent.stats.files_received, agent.stats.file_bytes_in()))
            agent.get_files(
                state.request.dataset,
                receive_order(plan.copy),
                receiving.sink,
                footer_first=verify.checked_while_arriving(plan.copy, source),
                on_footer=receiving.footer,
                basis=ahead.bases(state, plan),
            )
            failures = receiving.failures()
        state.request.progress.phase("verify")
        source = sides.settle_remote_hashes(state, agent)
        received = receiving.received
        dataset = state.request.dataset
        verify.verify_staged(dataset, state.local_dir, stage, plan.copy, source, received, failures, needed)
        fault_point("after-staging", stage)
        state.request.progress.phase("promote")
    except OSError as error:
        current = receiving.current if receiving is not None else None
        raise _drop_stage(state, stage, current or stage, needed, error) from None
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    moved = sum(size for size, _ in receiving.received.values())
    state.record.transfer = transfer_block(plan, moved)
    try:
        promotion.promote(
            folder,
            stage,
            plan.copy,
            plan.delete,
            on_step=lambda: fault_point("mid-promotion"),
            hashes=state.hashes,
        )
    except OSError as error:
        if journal_pending(folder):
            raise  # committed: the next command rolls it forward
        raise _drop_stage(state, stage, journal_path(folder), needed, error) from None
    return source


class PullAhead:
    """Started once a pull's gate has passed: the chunks of the laptop's old copies are named while
    the locks and the re-plan wait on the remote (18 ms for an 11 MB primary, otherwise spent
    between the last lock and the first byte)."""

    def __init__(self, state: SyncRun, plan: Plan) -> None:
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="usr-basis")
        self._named = {
            path: pool.submit(BasisFile, path, local) for path, local in _old_copies(state, plan).items()
        }
        pool.shutdown(wait=False)

    def bases(self, state: SyncRun, plan: Plan) -> dict[str, BasisFile]:
        """The old copies the final plan can use: named ahead if still the same file, else named now; a
        copy that cannot be read is not used, and its file comes whole."""
        found = {}
        for path, local in _old_copies(state, plan).items():
            named = self._named.get(path)
            try:
                basis = named.result() if named is not None else None
                found[path] = basis if basis is not None and basis.current() else BasisFile(path, local)
            except OSError:
                continue
        return found


def _old_copies(state: SyncRun, plan: Plan) -> dict[str, Path]:
    """Large files the laptop holds an older copy of: only the chunks that copy lacks are sent."""
    local = state.local.files
    return {
        path: state.local_dir / path
        for path in plan.copy
        if path in local and min(local[path].size, state.remote.files[path].size) >= DELTA_MIN_BYTES
    }


def _preflight_local(state: SyncRun, plan: Plan) -> int:
    """Before any byte moves: the local filesystem must hold every file the pull stages; returns
    the bytes the stage needs."""
    sizes = [state.remote.files[path].size for path in plan.copy]
    parent = space.existing_ancestor(os.path.dirname(os.path.normpath(state.local_dir)))
    short = space.shortfall(parent, sizes)
    if short:
        where = f"local {state.request.dataset}"
        raise StagingError(
            space.preflight_message(where, parent, len(sizes), *short),
            paths=[parent],
            dataset=state.request.dataset,
            side="local",
        )
    return space.bytes_needed(parent, sizes)


def _drop_stage(state: SyncRun, stage: str, path: str, needed: int, error: OSError) -> StagingError:
    """Remove the stage after a failed write and name the failure (the free space of a full disk is
    measured before the stage goes)."""
    failure = verify.staging_failure(state.request.dataset, path, stage, needed, error)
    shutil.rmtree(stage, ignore_errors=True)
    return failure
