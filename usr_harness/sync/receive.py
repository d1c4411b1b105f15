"""A pull's receiving side: each file is made durable and checked while the next one streams in.

fsync and parquet decoding both release the GIL, so a small thread pool runs them beside
the network receive instead of after it. Results are collected in arrival order, so the
first failure reported is the same whatever the threads' timing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType

from usr_harness.dataset.layout import REGISTRY_DIR
from usr_harness.sync.hash_cache import HashCache
from usr_harness.sync.promotion import StagedFile

WORKERS = 2


def receive_order(paths: list[str]) -> list[str]:
    """Frozen registries first: a part is checked against them as soon as it lands."""
    return sorted(paths, key=lambda path: not path.startswith(REGISTRY_DIR + "/"))


class ReceivingStage:
    """`sink` for `AgentClient.get_files`; `check(path)` runs in the pool once the file is written."""

    def __init__(
        self,
        stage: str,
        check: Callable[[str], None],
        *,
        on_file: Callable[[], None],
        hashes: HashCache | None = None,
    ) -> None:
        self.stage = stage
        self._hashes = hashes
        self.received: dict[str, tuple[int, str]] = {}
        self._check = check
        self._on_file = on_file
        self._pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="usr-receive")
        self._pending: list[tuple[str, StagedFile, Future]] = []

    def __enter__(self) -> ReceivingStage:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, trace: TracebackType | None
    ) -> None:
        for _, staged, future in self._pending:
            if future.cancel():
                staged.discard()
        self._pool.shutdown(wait=True)

    def sink(self, path: str, size: int, blocks: Iterator[bytes]) -> None:
        staged = StagedFile(self.stage, path, self._hashes)
        try:
            for block in blocks:
                staged.write(block)
        except BaseException:
            staged.discard()
            raise
        self.received[path] = (staged.size, staged.sha256)
        self._pending.append((path, staged, self._pool.submit(self._settle, staged, path)))
        self._on_file()

    def _settle(self, staged: StagedFile, path: str) -> None:
        staged.close()
        self._check(path)

    def failures(self) -> dict[str, BaseException]:
        """Wait for every file; path -> the exception its fsync or check raised, in arrival order."""
        found = {}
        for path, _, future in self._pending:
            error = future.exception()
            if error is not None:
                found[path] = error
        return found
