"""The checks of a pull's staged files, apart from the receive: in this process or in a worker's.

`ReceivingStage` tells a `Checks` what it stages: a footer sent ahead of its file (`footer`),
how far that file has landed (`staged`), and that a file is whole (`whole`, which returns the
future of its verdict). `LocalChecks` runs them in this process, in a small pool;
`checks_process.WorkerChecks` hands the very same calls to a `LocalChecks` in a child process,
so where the checks run never changes what they find.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from usr_harness.errors import VerifyError

if TYPE_CHECKING:
    from usr_harness.sync.move.arriving_parquet import ArrivingParquet

WORKERS = 2


class Checks(Protocol):
    def footer(self, path: str, footer: bytes) -> None: ...

    def staged(self, path: str, size: int) -> None: ...

    def whole(self, path: str, size: int, *, written: bool) -> Future[BaseException | None]: ...

    def close(self) -> None: ...


class LocalChecks:
    """`check(path)` runs in the pool once the file is whole; a file whose footer came ahead is
    decoded column chunk by column chunk as it lands instead (`ArrivingParquet`).

    A verdict is the file's first failure: a chunk that did not decode, else its check (or the
    footer's `finish`). `written=False` (its fsync failed) asks for the decoding failures only.
    """

    def __init__(self, stage: str, check: Callable[[str], None], workers: int = WORKERS) -> None:
        self.stage = stage
        self._check = check
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="usr-check")
        self._arriving: dict[str, ArrivingParquet] = {}
        self._decoding: dict[str, list[Future]] = {}

    def footer(self, path: str, footer: bytes) -> None:
        """A footer that does not even parse is left to `check`, which reports the file as damaged."""
        from usr_harness.sync.move.arriving_parquet import ArrivingParquet  # pyarrow: only once a footer came

        try:
            self._arriving[path] = ArrivingParquet(Path(self.stage, path), footer)
        except VerifyError:
            return

    def staged(self, path: str, size: int) -> None:
        arriving = self._arriving.get(path)
        if arriving is not None:
            work = arriving.ready(size)
            self._decoding.setdefault(path, []).extend(self._pool.submit(unit) for unit in work)

    def whole(self, path: str, size: int, *, written: bool = True) -> Future[BaseException | None]:
        """Queued after every decoding unit of the file, so waiting on them never starves the pool."""
        self.staged(path, size)
        decoding = self._decoding.pop(path, [])
        arriving = self._arriving.pop(path, None)
        return self._pool.submit(self._verdict, path, decoding, arriving, written)

    def _verdict(
        self, path: str, decoding: list[Future], arriving: ArrivingParquet | None, written: bool
    ) -> BaseException | None:
        for unit in decoding:
            error = unit.exception()
            if error is not None:
                return error
        if not written:
            return None
        try:
            if arriving is None:
                self._check(path)
            else:
                arriving.finish()
        except Exception as error:
            return error
        return None

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
