"""The login's TCP connection: opened before paramiko loads, and prompt in both directions."""

from __future__ import annotations

import socket

from usr_harness.sync.remote.near.profiles import RemoteProfile

CONNECT_TIMEOUT_SECONDS = 10


def early_socket(profile: RemoteProfile) -> socket.socket | None:
    """The TCP connection, opened before paramiko's ~65 ms import so that sshd starts the session
    (fork, re-exec, keys, banner) meanwhile. None when it fails: paramiko then connects itself and
    names the failure exactly as it would have."""
    try:
        opened = socket.create_connection((profile.host, profile.port), timeout=CONNECT_TIMEOUT_SECONDS)
    except OSError:
        return None
    timeout = opened.gettimeout()  # the descriptor stays non-blocking: its new owner must know
    prompt = PromptSocket(opened.family, opened.type, opened.proto, fileno=opened.detach())
    prompt.settimeout(timeout)
    return prompt


class PromptSocket(socket.socket):
    """A TCP socket that neither holds back its own small writes nor delays its acknowledgements.

    The login and the agent's protocol are request/reply exchanges of small SSH packets. sshd
    answers some requests in two writes and, with Nagle, holds the second back until the first
    is acknowledged, which Linux's delayed ACK puts off by 40 ms or more. A perf trace of a
    no-op pull showed three such 40-44 ms waits, one still left with TCP_NODELAY alone (sshd's
    write to our read); `tests/sync/remote/near/test_prompt_socket.py` reproduces it: 44 ms per exchange on a
    plain socket, 0.03 ms here. TCP_NODELAY sends our writes at once; TCP_QUICKACK, which
    Linux clears as it goes, is set again after every read.
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._quickack()

    def recv(self, size: int, flags: int = 0) -> bytes:
        data = super().recv(size, flags)
        self._quickack()
        return data

    def _quickack(self) -> None:
        if _QUICKACK is not None:
            self.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)


_QUICKACK = getattr(socket, "TCP_QUICKACK", None)
"""Linux only; elsewhere acknowledgements keep the system's timing."""
