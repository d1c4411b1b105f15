"""A loopback TCP relay that misbehaves on purpose, placed between the SSH client and sshd.

Real networks drop, stall and crawl; a drill needs those failures at an exact,
reproducible point of a transfer. Each accepted connection is relayed by one
thread over non-blocking sockets, so the fault fires after exactly N bytes of the
chosen direction (never a byte more), whatever the chunking of the stream:

- cut: deliver N bytes, let them drain, then close both sides (FIN);
- reset: deliver N bytes, let them drain, then abort both sides (RST via SO_LINGER 0);
- stall: hold that direction for T seconds once, after N bytes;
- throttle: from byte N on, deliver at most `rate` bytes per second.

N and T come from `RelayPlan.from_seed`, so the same seed cuts at the same byte.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import random
import select
import socket
import struct
import termios
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import paramiko

from usr_harness.engines.remotes import RemoteSpec

CLIENT_TO_SERVER = "client->server"
SERVER_TO_CLIENT = "server->client"
DIRECTIONS = (CLIENT_TO_SERVER, SERVER_TO_CLIENT)
KINDS = ("pass", "cut", "reset", "stall", "throttle")

_RECV_CHUNK = 1 << 16
_MAX_BUFFERED = 1 << 18
_DRAIN_SECONDS = 2.0
_CONNECT_SECONDS = 10.0


@dataclass(frozen=True)
class RelayPlan:
    """What to do to each relayed connection (or only to the `connection`-th, counting from 1)."""

    kind: str = "pass"
    direction: str = SERVER_TO_CLIENT
    after_bytes: int = 0
    stall_seconds: float = 0.0
    rate: int = 0
    connection: int | None = None
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown relay fault {self.kind!r}; known: {', '.join(KINDS)}")
        if self.direction not in DIRECTIONS:
            raise ValueError(f"direction must be {CLIENT_TO_SERVER!r} or {SERVER_TO_CLIENT!r}")
        if self.after_bytes < 0 or self.stall_seconds < 0:
            raise ValueError("after_bytes and stall_seconds must be >= 0")
        if self.kind == "throttle" and self.rate <= 0:
            raise ValueError("a throttle needs rate > 0 bytes/s")
        if self.connection is not None and self.connection < 1:
            raise ValueError("connection counts from 1")

    @classmethod
    def from_seed(
        cls,
        seed: int,
        kind: str,
        *,
        max_bytes: int,
        min_bytes: int = 1,
        direction: str | None = None,
        max_stall: float = 2.0,
        rate: int = 64 * 1024,
        connection: int | None = None,
    ) -> RelayPlan:
        """Draw N (and T, and the direction unless given) from `seed`: same seed, same plan."""
        if not 0 <= min_bytes <= max_bytes:
            raise ValueError("need 0 <= min_bytes <= max_bytes")
        rng = random.Random(f"usr-harness-relay:{seed}:{kind}")
        after = rng.randint(min_bytes, max_bytes)
        stall = round(rng.uniform(max_stall / 4, max_stall), 3)
        drawn = rng.choice(DIRECTIONS)
        return cls(
            kind=kind,
            direction=direction or drawn,
            after_bytes=after,
            stall_seconds=stall if kind == "stall" else 0.0,
            rate=rate if kind == "throttle" else 0,
            connection=connection,
            seed=seed,
        )

    def applies_to(self, index: int) -> bool:
        return self.kind != "pass" and (self.connection is None or self.connection == index)

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


@dataclass
class ConnectionStats:
    """Bytes delivered each way on one connection, and whether (and where) its fault fired."""

    index: int
    client_to_server: int = 0
    server_to_client: int = 0
    fired: bool = False
    fired_at: int | None = None
    ended_by: str = ""
    error: str | None = None

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class RelayStats:
    connections: int
    client_to_server: int
    server_to_client: int
    fired: bool
    fired_at: int | None
    per_connection: tuple[ConnectionStats, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, object]:
        data = dataclasses.asdict(self)
        data["per_connection"] = [item.as_dict() for item in self.per_connection]
        return data


class FaultRelay:
    """Listen on 127.0.0.1 at a free port and relay every connection to the target, per `plan`."""

    def __init__(
        self, target_host: str, target_port: int, *, plan: RelayPlan | None = None, host: str = "127.0.0.1"
    ) -> None:
        self.target = (target_host, target_port)
        self.plan = plan or RelayPlan()
        self._listener = socket.create_server((host, 0))
        self._listener.setblocking(False)
        self._wake_read, self._wake_write = socket.socketpair()
        self._lock = threading.Lock()
        self._connections: list[ConnectionStats] = []
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._acceptor = threading.Thread(target=self._accept_loop, name="fault-relay-accept", daemon=True)
        self._started = False

    @property
    def host(self) -> str:
        return self._listener.getsockname()[0]

    @property
    def port(self) -> int:
        return self._listener.getsockname()[1]

    def __enter__(self) -> FaultRelay:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def start(self) -> FaultRelay:
        if not self._started:
            self._started = True
            self._acceptor.start()
        return self

    def close(self) -> None:
        """Stop accepting, end every live connection and wait for the relay threads."""
        self._stopping.set()
        with contextlib.suppress(OSError):
            self._wake_write.send(b"x")
        if self._started:
            self._acceptor.join(timeout=5)
        self.wait_idle(timeout=5)
        for sock in (self._listener, self._wake_read, self._wake_write):
            sock.close()

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until every connection accepted so far has ended; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(deadline - time.monotonic(), 0))
        return not any(thread.is_alive() for thread in threads)

    @property
    def stats(self) -> RelayStats:
        with self._lock:
            items = tuple(dataclasses.replace(item) for item in self._connections)
        fired = [item for item in items if item.fired]
        return RelayStats(
            connections=len(items),
            client_to_server=sum(item.client_to_server for item in items),
            server_to_client=sum(item.server_to_client for item in items),
            fired=bool(fired),
            fired_at=fired[0].fired_at if fired else None,
            per_connection=items,
        )

    def _accept_loop(self) -> None:
        poller = select.poll()
        poller.register(self._listener, select.POLLIN)
        poller.register(self._wake_read, select.POLLIN)
        while not self._stopping.is_set():
            poller.poll()
            if self._stopping.is_set():
                return
            try:
                client, _ = self._listener.accept()
            except BlockingIOError:
                continue
            except OSError:
                return
            with self._lock:
                stats = ConnectionStats(index=len(self._connections) + 1)
                self._connections.append(stats)
                relay = _Connection(client, self.target, self.plan, stats, self._stopping, self._wake_read)
                thread = threading.Thread(target=relay.run, name=f"fault-relay-{stats.index}", daemon=True)
                self._threads.append(thread)
            thread.start()


class _Pump:
    """One direction of one connection: what was read, what was delivered, and the fault state."""

    def __init__(self, name: str, src: socket.socket, dst: socket.socket) -> None:
        self.name = name
        self.src = src
        self.dst = dst
        self.buffer = bytearray()
        self.delivered = 0
        self.eof = False
        self.shut = False
        self.hold_until = 0.0
        self.tokens = 0.0
        self.refilled = 0.0


class _Connection:
    def __init__(
        self,
        client: socket.socket,
        target: tuple[str, int],
        plan: RelayPlan,
        stats: ConnectionStats,
        stopping: threading.Event,
        wake: socket.socket,
    ) -> None:
        self.client = client
        self.target = target
        self.plan = plan
        self.stats = stats
        self.stopping = stopping
        self.wake = wake
        self.faulty = plan.applies_to(stats.index)

    def run(self) -> None:
        try:
            server = socket.create_connection(self.target, timeout=_CONNECT_SECONDS)
        except OSError as error:
            self.stats.error = f"cannot reach {self.target[0]}:{self.target[1]}: {error}"
            self.stats.ended_by = "relay"
            _abort(self.client)
            return
        for sock in (self.client, server):
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        pumps = {
            CLIENT_TO_SERVER: _Pump(CLIENT_TO_SERVER, self.client, server),
            SERVER_TO_CLIENT: _Pump(SERVER_TO_CLIENT, server, self.client),
        }
        try:
            self.stats.ended_by = self._relay(pumps, server)
        except OSError as error:
            self.stats.ended_by = "error"
            self.stats.error = str(error)
            _abort(self.client)
            _abort(server)

    def _relay(self, pumps: dict[str, _Pump], server: socket.socket) -> str:
        faulty = pumps[self.plan.direction] if self.faulty else None
        while True:
            now = time.monotonic()
            if faulty is not None and faulty.delivered == self.plan.after_bytes and not self.stats.fired:
                self._fire(faulty)
                if self.plan.kind in ("cut", "reset"):
                    self._close_for_fault(faulty, server)
                    return "fault"
                if self.plan.kind == "stall":
                    faulty.hold_until = now + self.plan.stall_seconds
            if all(pump.shut for pump in pumps.values()):
                self.client.close()
                server.close()
                return "peers"
            if self.stopping.is_set():
                _abort(self.client)
                _abort(server)
                return "relay"
            self._step(pumps, now)

    def _fire(self, pump: _Pump) -> None:
        self.stats.fired = True
        self.stats.fired_at = pump.delivered

    def _allowance(self, pump: _Pump, now: float) -> tuple[int, float | None]:
        """How many bytes this pump may deliver now, and when to look again if it may deliver none."""
        if not self._is_faulty(pump):
            return len(pump.buffer), None
        if now < pump.hold_until:
            return 0, pump.hold_until - now
        before_fault = self.plan.after_bytes - pump.delivered
        if before_fault > 0:
            return min(len(pump.buffer), before_fault), None
        if self.plan.kind in ("cut", "reset"):
            return 0, None
        if self.plan.kind != "throttle":
            return len(pump.buffer), None
        if pump.refilled == 0.0:
            pump.refilled = now
        burst = max(self.plan.rate / 20, 1.0)
        pump.tokens = min(pump.tokens + (now - pump.refilled) * self.plan.rate, burst)
        pump.refilled = now
        if pump.tokens < 1:
            return 0, (1 - pump.tokens) / self.plan.rate
        return min(len(pump.buffer), int(pump.tokens)), None

    def _is_faulty(self, pump: _Pump) -> bool:
        return self.faulty and pump.name == self.plan.direction

    def _step(self, pumps: dict[str, _Pump], now: float) -> None:
        """Wait for readiness (or a stall or throttle deadline), then move bytes once."""
        interest: dict[int, int] = {}
        waits: list[float] = []
        allowed: dict[str, int] = {}
        for pump in pumps.values():
            if not pump.eof and len(pump.buffer) < _MAX_BUFFERED:
                interest[pump.src.fileno()] = interest.get(pump.src.fileno(), 0) | select.POLLIN
            allowance, wait = self._allowance(pump, now)
            allowed[pump.name] = allowance
            if allowance and not pump.shut:
                interest[pump.dst.fileno()] = interest.get(pump.dst.fileno(), 0) | select.POLLOUT
            if wait is not None:
                waits.append(wait)
        poller = select.poll()
        for fd, mask in interest.items():
            poller.register(fd, mask)
        poller.register(self.wake, select.POLLIN)
        timeout = min(waits) if waits else None
        ready = dict(poller.poll(None if timeout is None else max(timeout * 1000, 1)))
        for pump in pumps.values():
            events = ready.get(pump.src.fileno(), 0)
            hung_up = events & (select.POLLHUP | select.POLLERR)
            readable = events & select.POLLIN and len(pump.buffer) < _MAX_BUFFERED
            if not pump.eof and (hung_up or readable):
                self._read(pump)
            if ready.get(pump.dst.fileno(), 0) & select.POLLOUT and allowed[pump.name]:
                self._write(pump, allowed[pump.name])
            if pump.eof and not pump.buffer and not pump.shut:
                with contextlib.suppress(OSError):
                    pump.dst.shutdown(socket.SHUT_WR)
                pump.shut = True

    def _read(self, pump: _Pump) -> None:
        try:
            data = pump.src.recv(_RECV_CHUNK)
        except BlockingIOError:
            return
        except ConnectionResetError:
            data = b""
        if data:
            pump.buffer += data
        else:
            pump.eof = True

    def _write(self, pump: _Pump, allowance: int) -> None:
        try:
            sent = pump.dst.send(memoryview(pump.buffer)[:allowance])
        except BlockingIOError:
            return
        except (BrokenPipeError, ConnectionResetError):
            pump.buffer.clear()
            pump.eof = True
            return
        del pump.buffer[:sent]
        metered = self.plan.kind == "throttle" and pump.delivered >= self.plan.after_bytes
        if metered and self._is_faulty(pump):
            pump.tokens -= sent
        pump.delivered += sent
        if pump.name == CLIENT_TO_SERVER:
            self.stats.client_to_server += sent
        else:
            self.stats.server_to_client += sent

    def _close_for_fault(self, pump: _Pump, server: socket.socket) -> None:
        """Let the N delivered bytes reach the peer, then close (cut) or abort (reset) both sides."""
        _drain_send_queue(pump.dst)
        for sock in (self.client, server):
            if self.plan.kind == "reset":
                _abort(sock)
            else:
                _discard_pending(sock)
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()


def relay_spec(spec: RemoteSpec, relay: FaultRelay, known_hosts: Path) -> RemoteSpec:
    """The same remote reached through `relay`, with its host key recorded under the relay's port.

    Host keys are filed under `[host]:port`, so moving the port needs its own
    known_hosts entry; the key is copied from the spec's file, never learned.
    """
    keys = paramiko.HostKeys(str(spec.known_hosts))
    recorded = keys.lookup(_host_key_name(spec.host, spec.port))
    if not recorded:
        raise ValueError(f"no host key for {_host_key_name(spec.host, spec.port)} in {spec.known_hosts}")
    for key in recorded.values():
        keys.add(_host_key_name(relay.host, relay.port), key.get_name(), key)
    keys.save(str(known_hosts))
    return spec.changed(host=relay.host, port=relay.port, known_hosts=known_hosts)


def _host_key_name(host: str, port: int) -> str:
    """The name OpenSSH files a host key under: `host`, or `[host]:port` off port 22."""
    return host if port == 22 else f"[{host}]:{port}"


def _drain_send_queue(sock: socket.socket) -> None:
    """Wait until the kernel has sent (and the peer acknowledged) everything written to `sock`."""
    deadline = time.monotonic() + _DRAIN_SECONDS
    while time.monotonic() < deadline:
        try:
            pending = struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0"))[0]
        except OSError:
            return
        if pending == 0:
            return
        time.sleep(0.001)


def _discard_pending(sock: socket.socket) -> None:
    """Read what already arrived, so closing sends FIN rather than RST (which could drop our N bytes)."""
    with contextlib.suppress(OSError):
        while sock.recv(_RECV_CHUNK):
            pass


def _abort(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
