"""What a pull starts ahead of its transfer, so it does not stand between the last lock and the first byte.

The checks of the files it will stage start with the command, in a worker process
(`commit/checks_worker.py`), when this process has not loaded pyarrow yet: pyarrow's import
(~100 ms) and every decode then run on another core, off this process's GIL (a pull after a
batch spent 130-175 ms on them in its own process). A process that has pyarrow already (a
long-lived caller of the engine) checks in its own pool. Once the gate has passed, the chunks
of the laptop's old copies are named (18 ms for an 11 MB primary) while the locks and the
re-plan wait on the remote.
"""

from __future__ import annotations

import sys
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from usr_harness.sync.commit import verify
from usr_harness.sync.commit.checks import Checks, LocalChecks
from usr_harness.sync.move.basis import BasisFile
from usr_harness.sync.move.chunks import DELTA_MIN_BYTES
from usr_harness.sync.plan.model import Plan
from usr_harness.sync.state import SyncRun

if TYPE_CHECKING:
    from usr_harness.sync.commit.checks_process import WorkerChecks


def start_checks_worker() -> WorkerChecks | None:
    """Started with a pull, before anything is known of what it moves: pyarrow's import then runs
    on another core while the login and both scans do, and a pull that moves nothing kills it."""
    if "pyarrow" in sys.modules:
        return None
    from usr_harness.sync.commit.checks_process import WorkerChecks

    return WorkerChecks.start()


class PullAhead:
    def __init__(self, state: SyncRun, plan: Plan) -> None:
        self._worker = state.checks_worker
        self._local: LocalChecks | None = None
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="usr-basis")
        copies = old_copies(state, plan)
        self._named: dict[str, Future[BasisFile]] = {
            path: pool.submit(BasisFile, path, local) for path, local in copies.items()
        }
        pool.shutdown(wait=False)

    def __enter__(self) -> PullAhead:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._local is not None:
            self._local.close()

    def checks(self, state: SyncRun, stage: str, plan: Plan) -> Checks:
        """The checks of this stage: the worker started ahead, else a pool in this process."""
        parts = verify.part_paths(plan.copy, state.remote)
        if self._worker is not None:
            self._worker.begin(state.request.dataset, state.local_dir, stage, parts)
            return self._worker
        staged = verify.StagedChecks(state.request.dataset, state.local_dir, stage, parts)
        self._local = LocalChecks(stage, staged.check)
        return self._local

    def bases(self, state: SyncRun, plan: Plan) -> dict[str, BasisFile]:
        """The old copies the final plan can use: named ahead if still the same file, else named now; a
        copy that cannot be read is not used, and its file comes whole."""
        found = {}
        for path, local in old_copies(state, plan).items():
            named = self._named.get(path)
            try:
                basis = named.result() if named is not None else None
                found[path] = basis if basis is not None and basis.current() else BasisFile(path, local)
            except OSError:
                continue
        return found


def old_copies(state: SyncRun, plan: Plan) -> dict[str, Path]:
    """Large files the laptop holds an older copy of: only the chunks that copy lacks are sent."""
    local = state.local.files
    return {
        path: state.local_dir / path
        for path in plan.copy
        if path in local and min(local[path].size, state.remote.files[path].size) >= DELTA_MIN_BYTES
    }
