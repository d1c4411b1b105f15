"""The engine's side of the agent protocol: requests, replies and raw file streams on one channel."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from pathlib import Path
from typing import Protocol

from usr_harness.errors import FAMILY_BY_NAME, TransportError, UsrError
from usr_harness.sync.remote.near.bundle import agent_command, agent_payload
from usr_harness.sync.transport import OldCopy, Stats

READ_CHUNK = 1 << 20


class ByteChannel(Protocol):
    """What the client needs from a transport: paramiko's Channel fits, so does a pipe pair."""

    def sendall(self, data: bytes) -> None: ...

    def recv(self, size: int) -> bytes: ...

    def close(self) -> None: ...


def raise_reply(reply: dict, side: str = "remote") -> None:
    family = FAMILY_BY_NAME.get(reply.get("family", ""), TransportError)
    raise family(reply.get("message", "remote agent failed"), paths=reply.get("paths", []), side=side)


class AgentClient:
    """Talks to one running agent; every method is one request (file payloads stream in line)."""

    def __init__(self, channel: ByteChannel, describe: str = "remote") -> None:
        self.channel = channel
        self.describe = describe
        self._buffer = bytearray()
        self.stats = Stats()
        self.hello: dict = {}
        self._ahead: dict | None = None

    @classmethod
    def start(cls, channel: ByteChannel, base_dir: str, describe: str) -> AgentClient:
        client = cls(channel, describe)
        begun = time.perf_counter()
        client._send(agent_payload())
        client.hello = client.request({"op": "hello", "base_dir": base_dir})
        client.stats.connect["agent start"] = time.perf_counter() - begun
        client.stats.agent["start-up"] = client.hello.get("age")
        return client

    def _send(self, data: bytes) -> None:
        try:
            self.channel.sendall(data)
        except OSError as error:
            raise TransportError(f"{self.describe}: connection lost while sending ({error})") from None

    def _fill(self) -> None:
        self._buffer += self._recv(READ_CHUNK)

    def _recv(self, size: int) -> bytes:
        """Up to `size` bytes straight from the channel (payload blocks skip the line buffer)."""
        try:
            block = self.channel.recv(size)
        except OSError as error:
            raise TransportError(f"{self.describe}: connection lost while receiving ({error})") from None
        if not block:
            raise TransportError(
                f"{self.describe}: the remote agent closed the channel "
                "(is the profile's python >= 3.8 and on PATH?)"
            )
        return block

    def _readline(self) -> bytes:
        while True:
            end = self._buffer.find(b"\n")
            if end >= 0:
                line = bytes(self._buffer[: end + 1])
                del self._buffer[: end + 1]
                return line
            self._fill()

    def _read_stream(self, size: int) -> Iterator[bytes]:
        remaining = size
        while remaining:
            if self._buffer:
                take = min(remaining, len(self._buffer))
                block = bytes(self._buffer[:take])
                del self._buffer[:take]
            else:
                block = self._recv(min(remaining, READ_CHUNK))
                take = len(block)
            remaining -= take
            self.stats.bytes_received += take
            yield block

    def _reply(self) -> dict:
        line = self._readline()
        try:
            reply = json.loads(line)
        except ValueError:
            raise TransportError(f"{self.describe}: garbled agent reply {line[:120]!r}") from None
        timing = reply.pop("timing", None) if isinstance(reply, dict) else None
        if timing:
            self._note(timing)
        return reply

    def _note(self, timing: dict) -> None:
        """Add the agent's own seconds for one operation, and keep its hashing so far."""
        ops = self.stats.agent.setdefault("ops", {})
        ops[timing["op"]] = ops.get(timing["op"], 0.0) + timing["s"]
        self.stats.agent["hashing"] = {
            "files": timing["hash_files"],
            "bytes": timing["hash_bytes"],
            "seconds": timing["hash_s"],
        }

    def _checked(self, reply: dict) -> dict:
        if not reply.get("ok"):
            raise_reply(reply)
        return reply

    def send_request(self, request: dict) -> None:
        if self._ahead is not None:
            self._ahead = None
            self._reply()  # the answer to a request asked ahead that no one asked for in the end
            self.stats.asked_ahead["dropped"] += 1
        self.stats.requests += 1
        self._send(json.dumps(request, separators=(",", ":")).encode() + b"\n")

    def request(self, request: dict) -> dict:
        if self._ahead is not None and request == self._ahead:
            self._ahead = None
            self.stats.asked_ahead["used"] += 1
            return self._checked(self._reply())
        self.send_request(request)
        return self._checked(self._reply())

    def ask_ahead(self, request: dict) -> None:
        """Send `request` now, before anyone needs its answer: the agent works while this side does.

        The first `request` for the very same gets that answer without another round trip; any other
        request first reads it and drops it, so a guess that did not hold costs one wasted answer,
        never a reply read out of turn.
        """
        self.send_request(request)
        self._ahead = request

    def request_stream(self, request: dict) -> tuple[dict, Iterator[bytes]]:
        """One request whose checked reply header announces `size` raw bytes; the caller consumes them all."""
        self.send_request(request)
        header = self._checked(self._reply())
        return header, self._read_stream(int(header["size"]))

    def send_raw(self, block: bytes) -> None:
        """Payload bytes announced by the request just sent."""
        self._send(block)
        self.stats.bytes_sent += len(block)

    def reply(self) -> dict:
        """The next checked reply (after `send_request` and its payload)."""
        return self._checked(self._reply())

    def get_files(
        self,
        dataset: str,
        paths: list[str],
        sink: Callable[[str, int, Iterator[bytes]], None],
        *,
        footer_first: Collection[str] = (),
        on_footer: Callable[[str, bytes], None] | None = None,
        basis: Mapping[str, OldCopy] | None = None,
    ) -> None:
        """Stream files back to back; `sink(path, size, blocks)` must consume every block.

        For the parquet files in `footer_first` the agent sends the footer ahead of the file,
        handed to `on_footer(path, footer)` before `sink` sees the file. A path in `basis` has an
        old copy on the laptop: the agent sends only the chunks that copy lacks, and `sink` gets
        the new file's bytes all the same.
        """
        request: dict = {"op": "get", "dataset": dataset, "paths": paths}
        if footer_first and on_footer is not None:
            request["footer_first"] = sorted(footer_first)
        bases = basis or {}
        if bases:
            request["basis"] = {rel: base.digests() for rel, base in bases.items()}
        self.send_request(request)
        while True:
            header = self._checked(self._reply())
            if header.get("done"):
                return
            if header.get("footer") and on_footer is not None:
                on_footer(header["path"], b"".join(self._read_stream(int(header["footer"]))))
            blocks = self._file_blocks(header, bases.get(header["path"]))
            sink(header["path"], int(header["size"]), blocks)
            for _ in blocks:
                pass
            self.stats.files_received += 1

    def _file_blocks(self, header: dict, base: OldCopy | None) -> Iterator[bytes]:
        pieces = header.get("pieces")
        if base is None or pieces is None:
            return self._read_stream(int(header["size"]))
        self.stats.delta["files"] += 1
        self.stats.delta["sent"] += sum(-piece for piece in pieces if piece < 0)
        return base.rebuilt(pieces, self._read_stream, on_reused=self._count_reused)

    def _count_reused(self, size: int) -> None:
        self.stats.delta["reused"] += size

    def put_files(self, dataset: str, files: list[tuple[str, Path]], on_file: Callable[[], None]) -> dict:
        """Send every file, then read every reply: replies never wait on the next upload."""
        for rel, path in files:
            with open(path, "rb", buffering=0) as handle:
                size = handle.seek(0, 2)
                handle.seek(0)
                self.send_request({"op": "put", "dataset": dataset, "path": rel, "size": size})
                remaining = size
                while remaining:
                    block = handle.read(min(READ_CHUNK, remaining))
                    if not block:
                        raise UsrError(f"local {rel} shrank while it was being sent")
                    self._send(block)
                    remaining -= len(block)
                    self.stats.bytes_sent += len(block)
            self.stats.files_sent += 1
            on_file()
        replies = {}
        failure = None
        for _ in files:
            reply = self._reply()
            if not reply.get("ok"):
                failure = failure or reply
            else:
                replies[reply["path"]] = reply
        if failure:
            raise_reply(failure)
        return replies

    def close(self) -> None:
        try:
            self.send_request({"op": "bye"})
            self._reply()
        except UsrError:
            pass
        finally:
            self.channel.close()


def launch_over_session(session, python: str, base_dir: str, describe: str) -> AgentClient:
    """Start the agent on an open SshSession.

    The channel keeps paramiko's default 2 MiB window: wider windows (16-64 MiB) stalled receives
    on loopback to 45-100 MB/s in about half the runs, 2 MiB gave 350-540 MB/s every time.
    """
    channel = session.exec_channel(agent_command(python))
    return AgentClient.start(channel, base_dir, describe)
