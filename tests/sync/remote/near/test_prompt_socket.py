"""The login's TCP socket: no 40 ms wait when the server replies in two small writes.

sshd replies to some requests in two writes, and Nagle holds the second back until the
first is acknowledged; a client that delays its acknowledgement (Linux's delayed ACK, at
least 40 ms) then waits that long for the reply. The fixture server below replies the same
way, so a plain socket shows the wait and `PromptSocket` must not.
"""

from __future__ import annotations

import socket
import statistics
import threading
import time
from collections.abc import Iterator

import pytest

from usr_harness.sync.remote.near.profiles import RemoteProfile
from usr_harness.sync.remote.near.prompt_socket import CONNECT_TIMEOUT_SECONDS, PromptSocket, early_socket

DELAYED_ACK_SECONDS = 0.040
"""Linux's shortest delayed-ACK wait (TCP_ATO_MIN)."""
REPLY = b"r" * 100


def _reply_in_two_writes(listener: socket.socket) -> None:
    while True:
        try:
            connection, _ = listener.accept()
        except OSError:
            return  # the fixture closed the listener
        with connection:
            while connection.recv(64):
                connection.sendall(REPLY[:50])
                connection.sendall(REPLY[50:])


@pytest.fixture
def two_write_server() -> Iterator[tuple[str, int]]:
    listener = socket.create_server(("127.0.0.1", 0))
    with listener:
        threading.Thread(target=_reply_in_two_writes, args=(listener,), daemon=True).start()
        yield listener.getsockname()


def _exchange_seconds(sock: socket.socket) -> float:
    """The median request/reply time over a few exchanges."""
    times = []
    with sock:
        for _ in range(5):
            begun = time.perf_counter()
            sock.sendall(b"request")
            received = b""
            while len(received) < len(REPLY):
                received += sock.recv(len(REPLY))
            times.append(time.perf_counter() - begun)
    return statistics.median(times)


def _login_socket(address: tuple[str, int]) -> socket.socket:
    """The socket a login connects through (`early_socket`), to `address`."""
    host, port = address
    sock = early_socket(
        RemoteProfile(name="probe", type="ssh", host=host, user="nobody", base_dir="/", port=port)
    )
    assert sock is not None
    return sock


def test_a_reply_in_two_writes_arrives_without_the_delayed_ack_wait(
    two_write_server: tuple[str, int],
) -> None:
    plain = _exchange_seconds(socket.create_connection(two_write_server))
    if plain < DELAYED_ACK_SECONDS:
        pytest.skip(f"this kernel acknowledged at once ({plain * 1000:.1f} ms): no wait to take away")
    assert _exchange_seconds(_login_socket(two_write_server)) < DELAYED_ACK_SECONDS / 2


def test_the_login_connects_through_a_prompt_socket(two_write_server: tuple[str, int]) -> None:
    sock = _login_socket(two_write_server)
    assert isinstance(sock, PromptSocket)
    with sock:
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        assert sock.gettimeout() == CONNECT_TIMEOUT_SECONDS  # the descriptor is non-blocking
