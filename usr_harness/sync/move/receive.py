"""A pull's receiving side: each file is checked, and made durable, while the next one streams in.

Parquet decoding releases the GIL, so a small thread pool runs the checks beside the network
receive instead of after it; files are made durable in batches in a thread of their own
(`durable.DurableBatches`: every file synced, with the filesystem's journal committed once a batch).
A large parquet file whose footer was sent ahead is decoded column chunk by column chunk while it
is still arriving. Results are collected in arrival order, so the first failure reported is the
same whatever the threads' timing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from usr_harness.dataset.layout import REGISTRY_DIR
from usr_harness.errors import VerifyError
from usr_harness.sync.commit.durable import DurableBatches
from usr_harness.sync.commit.promotion import StagedFile
from usr_harness.sync.inventory.hash_cache import HashCache

if TYPE_CHECKING:
    from usr_harness.sync.move.arriving_parquet import ArrivingParquet

WORKERS = 2


def receive_order(paths: list[str]) -> list[str]:
    """Frozen registries first: a part is checked against them as soon as it lands."""
    return sorted(paths, key=lambda path: not path.startswith(REGISTRY_DIR + "/"))


class ReceivingStage:
    """`sink` for `AgentClient.get_files`; `check(path)` runs in the pool once the file is written.

    `footer(path, bytes)` takes a footer sent ahead of its file: that file is then checked
    as it arrives (`ArrivingParquet`) instead of by `check`.
    """

    def __init__(
        self,
        stage: str,
        check: Callable[[str], None],
        *,
        on_file: Callable[[], None],
        hashes: HashCache | None = None,
    ) -> None:
        self.stage = stage
        self.received: dict[str, tuple[int, str]] = {}
        self.current: str | None = None
        """The file being written when a write fails (a full disk names it)."""
        self._check = check
        self._on_file = on_file
        self._hashes = hashes
        self._footers: dict[str, bytes] = {}
        self._folders: set[str] = set()
        self._pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="usr-receive")
        self._durable = DurableBatches()
        self._pending: list[tuple[str, StagedFile, Future, list[Future]]] = []
        """Each file's settling (close, then check) and every future that must end well for it."""

    def __enter__(self) -> ReceivingStage:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, trace: TracebackType | None
    ) -> None:
        for _, staged, settle, _ in self._pending:
            if settle.cancel():
                staged.discard()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._durable.close()

    def footer(self, path: str, footer: bytes) -> None:
        self._footers[path] = footer

    def sink(self, path: str, size: int, blocks: Iterator[bytes]) -> None:
        self.current = path
        staged = StagedFile(self.stage, path, self._hashes, folders=self._folders)
        futures: list[Future] = []
        try:
            arriving = self._arriving(staged, path)
            for block in blocks:
                staged.write(block)
                if arriving is not None:
                    futures += [self._pool.submit(work) for work in arriving.ready(staged.size)]
        except BaseException:
            staged.discard()
            raise
        self.current = None
        self.received[path] = (staged.size, staged.sha256)
        settle = self._pool.submit(self._settle, staged, path, arriving)
        futures += [settle, self._durable.add(staged.path, staged.size)]
        self._pending.append((path, staged, settle, futures))
        self._on_file()

    def _arriving(self, staged: StagedFile, path: str) -> ArrivingParquet | None:
        """A footer that does not even parse is left to `check`, which reports the file as damaged."""
        footer = self._footers.pop(path, None)
        if footer is None:
            return None
        from usr_harness.sync.move.arriving_parquet import ArrivingParquet  # pyarrow: only once a footer came

        try:
            return ArrivingParquet(Path(staged.path), footer)
        except VerifyError:
            return None

    def _settle(self, staged: StagedFile, path: str, arriving: ArrivingParquet | None) -> None:
        staged.close(durable=False)
        if arriving is None:
            self._check(path)
        else:
            arriving.finish()

    def failures(self) -> dict[str, BaseException]:
        """Wait for every file; path -> the first exception its sync or checks raised, in arrival order."""
        self._durable.flush()
        found = {}
        for path, _, _, futures in self._pending:
            for future in futures:
                error = future.exception()
                if error is not None:
                    found.setdefault(path, error)
        return found
