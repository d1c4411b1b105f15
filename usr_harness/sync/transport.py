"""The agent channel as the stages use it: the engine opens it (`remote/near`) and passes it in.

A Protocol, so no stage imports the near side; `remote.near.client.AgentClient` is the
one implementation. `Stats` lives here, below both, for the same reason.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


@dataclass
class Stats:
    bytes_sent: int = 0
    bytes_received: int = 0
    files_sent: int = 0
    files_received: int = 0
    requests: int = 0
    asked_ahead: dict[str, int] = field(default_factory=lambda: {"used": 0, "dropped": 0})
    """Answers to requests asked ahead (`AgentClient.ask_ahead`): taken by the same request, or dropped."""
    delta: dict[str, int] = field(default_factory=lambda: {"files": 0, "reused": 0, "sent": 0})
    """Files pulled over the laptop's old copy: their bytes taken from that copy, and sent."""
    connect: dict[str, float] = field(default_factory=dict)
    """Near-side seconds of the login (`ssh connect+auth`) and of the agent's start (`agent start`)."""
    agent: dict = field(default_factory=dict)
    """What the agent said of its own time: `start-up`, seconds per operation (`ops`), `hashing`."""

    def file_bytes_in(self) -> int:
        """Bytes of the files received so far, sent over the channel or taken from old copies."""
        return self.bytes_received + self.delta["reused"]


class OldCopy(Protocol):
    """The laptop's old copy of a file being pulled (`move/basis.BasisFile`): its chunk names go to
    the agent, its chunks rebuild the new file from the agent's `pieces`."""

    def digests(self) -> str: ...

    def rebuilt(
        self,
        pieces: list[int],
        literal: Callable[[int], Iterator[bytes]],
        on_reused: Callable[[int], None],
    ) -> Iterator[bytes]: ...


class Transport(Protocol):
    hello: dict
    stats: Stats

    def send_request(self, request: dict) -> None: ...

    def request(self, request: dict) -> dict: ...

    def request_stream(self, request: dict) -> tuple[dict, Iterator[bytes]]: ...

    def send_raw(self, block: bytes) -> None: ...

    def reply(self) -> dict: ...

    def get_files(
        self,
        dataset: str,
        paths: list[str],
        sink: Callable[[str, int, Iterator[bytes]], None],
        *,
        footer_first: Collection[str] = (),
        on_footer: Callable[[str, bytes], None] | None = None,
        basis: Mapping[str, OldCopy] | None = None,
    ) -> None: ...

    def put_files(self, dataset: str, files: list[tuple[str, Path]], on_file: Callable[[], None]) -> dict: ...
