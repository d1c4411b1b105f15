"""The pull's receiving stage: files land whole, are checked in the pool, failures come in arrival order."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import pytest

from usr_harness.sync.commit import durable
from usr_harness.sync.move.receive import ReceivingStage, receive_order


def blocks_of(body: bytes, size: int = 7):
    return iter([body[i : i + size] for i in range(0, len(body), size)])


def test_registries_come_first_and_the_rest_keeps_its_order() -> None:
    paths = ["records.parquet", "_derived/ns/p1.parquet", "_registry/registry.ab.yaml", "meta.md"]
    assert receive_order(paths) == [
        "_registry/registry.ab.yaml",
        "records.parquet",
        "_derived/ns/p1.parquet",
        "meta.md",
    ]


def test_every_file_is_written_hashed_and_checked_once(tmp_path: Path) -> None:
    bodies = {"a.txt": b"alpha" * 100, "sub/b.bin": os.urandom(5000), "empty": b""}
    checked: list[tuple[str, bytes]] = []
    guard = threading.Lock()

    def check(path: str) -> None:
        with guard:
            checked.append((path, (tmp_path / path).read_bytes()))

    arrivals = []
    with ReceivingStage(str(tmp_path), check, on_file=lambda: arrivals.append(1)) as stage:
        for path, body in bodies.items():
            stage.sink(path, len(body), blocks_of(body))
        assert stage.failures() == {}
    assert sorted(checked) == sorted(bodies.items())
    assert len(arrivals) == len(bodies)
    assert stage.received == {p: (len(b), hashlib.sha256(b).hexdigest()) for p, b in bodies.items()}


def test_failures_are_reported_in_arrival_order_whatever_finishes_first(tmp_path: Path) -> None:
    first_may_finish = threading.Event()

    def check(path: str) -> None:
        if path == "first":
            first_may_finish.wait(5)
        raise ValueError(f"bad {path}")

    with ReceivingStage(str(tmp_path), check, on_file=lambda: None) as stage:
        stage.sink("first", 1, iter([b"1"]))
        stage.sink("second", 1, iter([b"2"]))
        first_may_finish.set()
        failures = stage.failures()
    assert list(failures) == ["first", "second"]
    assert str(failures["second"]) == "bad second"


def test_a_stream_that_breaks_mid_file_leaves_no_open_file_and_raises(tmp_path: Path) -> None:
    def broken():
        yield b"partial"
        raise ConnectionError("cut")

    with ReceivingStage(str(tmp_path), lambda path: None, on_file=lambda: None) as stage:
        with pytest.raises(ConnectionError):
            stage.sink("x", 100, broken())
        assert "x" not in stage.received
        assert stage.failures() == {}


def test_leaving_early_closes_every_file_whose_check_never_ran(tmp_path: Path) -> None:
    started, release = threading.Event(), threading.Event()

    def slow_check(path: str) -> None:
        started.set()
        release.wait(5)

    before = len(os.listdir("/proc/self/fd"))
    with (
        pytest.raises(RuntimeError),
        ReceivingStage(str(tmp_path), slow_check, on_file=lambda: None) as stage,
    ):
        for index in range(6):
            stage.sink(f"f{index}", 1, iter([b"x"]))
        started.wait(5)
        threading.Timer(0.3, release.set).start()  # both workers stay busy while exit cancels
        raise RuntimeError("transfer failed")
    assert len(os.listdir("/proc/self/fd")) == before


def test_a_file_that_cannot_be_made_durable_is_a_failure_of_that_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = durable.sync_path

    def failing(path: str) -> None:
        if path.endswith("second"):
            raise OSError(5, "Input/output error")
        real(path)

    monkeypatch.setattr(durable, "sync_path", failing)
    with ReceivingStage(str(tmp_path), lambda path: None, on_file=lambda: None) as stage:
        for name in ("first", "second", "third"):
            stage.sink(name, 1, iter([b"1"]))
        failures = stage.failures()
    assert list(failures) == ["second"]
    assert "Input/output error" in str(failures["second"])
