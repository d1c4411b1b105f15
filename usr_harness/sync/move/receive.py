"""A pull's receiving side: each file is made durable and checked while the next one streams in.

fsync releases the GIL, so a small thread pool runs it beside the network receive instead of
after it; the checks run in a `Checks` (`commit/checks.py`), told of each file as it lands. A
large parquet file whose footer was sent ahead is decoded while it is still arriving. Results
are collected in arrival order, so the first failure reported is the same whatever the timing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType

from usr_harness.dataset.layout import REGISTRY_DIR
from usr_harness.sync.commit.checks import Checks
from usr_harness.sync.commit.promotion import StagedFile
from usr_harness.sync.inventory.hash_cache import HashCache

WORKERS = 2
PROGRESS_BYTES = 1 << 18
"""How much more of a file with a footer ahead must land before its checks hear of it again."""


def receive_order(paths: list[str]) -> list[str]:
    """Frozen registries first: a part is checked against them as soon as it lands."""
    return sorted(paths, key=lambda path: not path.startswith(REGISTRY_DIR + "/"))


class ReceivingStage:
    """`sink` for `AgentClient.get_files`; each file goes to `checks` once it is written and synced.

    `footer(path, bytes)` takes a footer sent ahead of its file: `checks` then decodes that file
    as it arrives.
    """

    def __init__(
        self,
        stage: str,
        checks: Checks,
        *,
        on_file: Callable[[], None],
        hashes: HashCache | None = None,
    ) -> None:
        self.stage = stage
        self.received: dict[str, tuple[int, str]] = {}
        self.current: str | None = None
        """The file being written when a write fails (a full disk names it)."""
        self._checks = checks
        self._on_file = on_file
        self._hashes = hashes
        self._footers: set[str] = set()
        self._pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="usr-receive")
        self._pending: list[tuple[str, StagedFile, Future]] = []

    def __enter__(self) -> ReceivingStage:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, trace: TracebackType | None
    ) -> None:
        for _, staged, settled in self._pending:
            if settled.cancel():
                staged.discard()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def footer(self, path: str, footer: bytes) -> None:
        self._footers.add(path)
        self._checks.footer(path, footer)

    def sink(self, path: str, size: int, blocks: Iterator[bytes]) -> None:
        self.current = path
        staged = StagedFile(self.stage, path, self._hashes)
        told = 0
        try:
            for block in blocks:
                staged.write(block)
                if path in self._footers and staged.size - told >= PROGRESS_BYTES:
                    self._checks.staged(path, staged.size)
                    told = staged.size
        except BaseException:
            staged.discard()
            raise
        self.current = None
        self.received[path] = (staged.size, staged.sha256)
        self._pending.append((path, staged, self._pool.submit(self._settle, staged, path)))
        self._on_file()

    def _settle(self, staged: StagedFile, path: str) -> tuple[OSError | None, Future]:
        """fsync, then the checks; a failed fsync still collects the file's decoding failures."""
        synced = None
        try:
            staged.close()
        except OSError as error:
            synced = error
        return synced, self._checks.whole(path, staged.size, written=synced is None)

    def failures(self) -> dict[str, BaseException]:
        """Wait for every file; path -> its first failure (a chunk that did not decode, the fsync,
        the check), in arrival order."""
        found = {}
        for path, _, settled in self._pending:
            error = settled.exception()
            if error is None:
                synced, verdict = settled.result()
                error = verdict.result() or synced
            if error is not None:
                found[path] = error
        return found
