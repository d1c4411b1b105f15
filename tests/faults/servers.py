"""Plain local TCP peers for relay tests: a sink that counts, a source that streams, an echo."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass
class Peer:
    port: int
    received: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)


@contextlib.contextmanager
def serve(handler) -> Iterator[Peer]:
    """Accept connections on 127.0.0.1 and run `handler(conn, peer)` for each, in threads."""
    listener = socket.create_server(("127.0.0.1", 0))
    peer = Peer(listener.getsockname()[1])

    def accept_loop() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=_run, args=(handler, conn, peer), daemon=True).start()

    threading.Thread(target=accept_loop, daemon=True).start()
    try:
        yield peer
    finally:
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)
        listener.close()


def _run(handler, conn: socket.socket, peer: Peer) -> None:
    with conn:
        try:
            handler(conn, peer)
        except OSError as error:
            peer.errors.append(type(error).__name__)
        finally:
            peer.done.set()


def sink(conn: socket.socket, peer: Peer) -> None:
    """Count bytes until EOF (or reset; the count so far is still recorded)."""
    total = 0
    try:
        while data := conn.recv(65536):
            total += len(data)
    finally:
        peer.received.append(total)


def source(total: int):
    """Send `total` bytes of a fixed pattern, then close."""

    def handler(conn: socket.socket, peer: Peer) -> None:
        block = bytes(range(256)) * 256
        sent = 0
        while sent < total:
            chunk = block[: min(len(block), total - sent)]
            conn.sendall(chunk)
            sent += len(chunk)
        conn.shutdown(socket.SHUT_WR)
        conn.recv(1)

    return handler


def echo(conn: socket.socket, peer: Peer) -> None:
    while data := conn.recv(65536):
        conn.sendall(data)


def read_all(port: int, *, send: bytes = b"", timeout: float = 10.0) -> tuple[bytes, str | None]:
    """Connect, send `send`, half-close, read to EOF; (bytes read, error name or None)."""
    received = bytearray()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
            if send:
                conn.sendall(send)
            conn.shutdown(socket.SHUT_WR)
            while data := conn.recv(65536):
                received += data
    except OSError as error:
        return bytes(received), type(error).__name__
    return bytes(received), None


def send_all(port: int, total: int, *, timeout: float = 10.0) -> str | None:
    """Stream `total` bytes to the port; the error name if the connection broke first."""
    block = b"u" * 65536
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
            sent = 0
            while sent < total:
                sent += conn.send(block[: total - sent])
            conn.shutdown(socket.SHUT_WR)
            conn.recv(1)
    except OSError as error:
        return type(error).__name__
    return None
