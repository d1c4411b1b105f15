"""A login running in a thread: the command inventories its own side meanwhile."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from usr_harness.errors import UsrError
from usr_harness.sync.remote.near.client import AgentClient
from usr_harness.sync.remote.near.connect import connect_agent
from usr_harness.sync.remote.near.profiles import RemoteProfile


class PendingAgent:
    """`connect_agent` running in a thread: the login and the agent's start wait on the network
    while the caller inventories the local side."""

    def __init__(self, profile: RemoteProfile) -> None:
        self._profile = profile
        self._stack = ExitStack()
        self._agent: AgentClient | None = None
        self._error: BaseException | None = None
        self.logged_in = threading.Event()
        """Set once the login needs no more of this process's CPU, only the remote's (or it failed)."""
        self._handover = threading.Lock()
        self._settled = False
        self._ahead: dict | None = None
        self._thread = threading.Thread(target=self._connect, name="usr-connect", daemon=True)
        self._thread.start()

    def _connect(self) -> None:
        agent = None
        try:
            agent = self._stack.enter_context(connect_agent(self._profile, self.logged_in.set))
        except BaseException as error:  # handed to the caller of agent()
            self._error = error
        finally:
            self.logged_in.set()
            with self._handover:
                self._agent, self._settled, ahead = agent, True, self._ahead
        if agent is not None and ahead is not None:
            _ask_ahead(agent, ahead)

    def ask_ahead(self, request: dict) -> None:
        """Have the agent start on `request` the moment it is up (see `AgentClient.ask_ahead`)."""
        with self._handover:
            if not self._settled:
                self._ahead = request
                return
        if self._agent is not None:
            _ask_ahead(self._agent, request)

    def agent(self) -> AgentClient:
        """The connected agent, or the connection's own error (auth, transport, config)."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._agent is not None
        return self._agent

    def close(self) -> None:
        self._thread.join()
        self._stack.close()


def _ask_ahead(agent: AgentClient, request: dict) -> None:
    """A request sent early that cannot be sent is no error of its own: the connection is broken,
    and the next request says so."""
    with contextlib.suppress(UsrError, OSError):
        agent.ask_ahead(request)


@contextmanager
def connect_agent_in_background(
    profile: RemoteProfile, started: PendingAgent | None = None
) -> Iterator[PendingAgent]:
    """Start connecting now (or adopt a login `started` earlier); closed on exit whatever happened."""
    pending = started or PendingAgent(profile)
    try:
        yield pending
    finally:
        pending.close()
