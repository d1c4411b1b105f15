"""The relay cuts, resets, stalls and throttles at exactly the byte its plan names, reproducibly."""

from __future__ import annotations

import hashlib
import socket
import time

import pytest

from tests.faults.servers import echo, read_all, send_all, serve, sink, source
from usr_harness.faults.relay import CLIENT_TO_SERVER, SERVER_TO_CLIENT, FaultRelay, RelayPlan

PATTERN = bytes(range(256)) * 256


def test_from_seed_is_reproducible_and_seed_dependent() -> None:
    plans = [RelayPlan.from_seed(seed, "cut", max_bytes=1_000_000) for seed in (1, 1, 2)]
    assert plans[0] == plans[1] and plans[0].after_bytes != plans[2].after_bytes
    stall = RelayPlan.from_seed(5, "stall", max_bytes=100, max_stall=0.8, direction=CLIENT_TO_SERVER)
    assert 0.2 <= stall.stall_seconds <= 0.8 and stall.direction == CLIENT_TO_SERVER
    assert 1 <= stall.after_bytes <= 100
    with pytest.raises(ValueError, match="unknown relay fault"):
        RelayPlan(kind="melt")
    with pytest.raises(ValueError, match="rate"):
        RelayPlan(kind="throttle")


def test_pass_through_keeps_every_byte() -> None:
    payload = PATTERN * 20
    with serve(echo) as peer, FaultRelay("127.0.0.1", peer.port) as relay:
        received, error = read_all(relay.port, send=payload)
        assert relay.wait_idle()
        stats = relay.stats
    assert error is None and hashlib.sha256(received).digest() == hashlib.sha256(payload).digest()
    assert (stats.connections, stats.client_to_server, stats.server_to_client) == (
        1,
        len(payload),
        len(payload),
    )
    assert not stats.fired and stats.per_connection[0].ended_by == "peers"


@pytest.mark.parametrize("seed", [11, 12])
def test_cut_client_to_server_at_the_seeded_byte_every_time(seed: int) -> None:
    plan = RelayPlan.from_seed(seed, "cut", max_bytes=400_000, min_bytes=1000, direction=CLIENT_TO_SERVER)
    outcomes = []
    for _ in range(2):
        with serve(sink) as peer, FaultRelay("127.0.0.1", peer.port, plan=plan) as relay:
            send_all(relay.port, 1_000_000)
            assert peer.done.wait(10)
            outcomes.append((peer.received[0], relay.stats.fired_at, relay.stats.client_to_server))
    assert outcomes[0] == outcomes[1] == (plan.after_bytes,) * 3


def test_cut_server_to_client_delivers_exactly_n_then_eof() -> None:
    plan = RelayPlan.from_seed(3, "cut", max_bytes=500_000, direction=SERVER_TO_CLIENT)
    with serve(source(1_000_000)) as peer, FaultRelay("127.0.0.1", peer.port, plan=plan) as relay:
        received, error = read_all(relay.port)
        assert relay.wait_idle()
        assert relay.stats.per_connection[0].ended_by == "fault"
    assert error is None and len(received) == plan.after_bytes
    assert received == (PATTERN * 20)[: plan.after_bytes]


def test_reset_aborts_after_exactly_n_bytes() -> None:
    plan = RelayPlan(kind="reset", direction=SERVER_TO_CLIENT, after_bytes=123_457)
    with serve(source(1_000_000)) as peer, FaultRelay("127.0.0.1", peer.port, plan=plan) as relay:
        received, error = read_all(relay.port)
        assert relay.stats.fired_at == 123_457
    assert error == "ConnectionResetError" and len(received) == 123_457


def test_only_the_named_connection_is_faulted() -> None:
    plan = RelayPlan(kind="cut", direction=SERVER_TO_CLIENT, after_bytes=1000, connection=2)
    with serve(source(50_000)) as peer, FaultRelay("127.0.0.1", peer.port, plan=plan) as relay:
        lengths = [len(read_all(relay.port)[0]) for _ in range(3)]
        assert relay.wait_idle()
        per = relay.stats.per_connection
    assert lengths == [50_000, 1000, 50_000]
    assert [item.fired for item in per] == [False, True, False]


def test_stall_holds_one_direction_for_t_seconds_once() -> None:
    plan = RelayPlan.from_seed(8, "stall", max_bytes=20_000, max_stall=0.6, direction=SERVER_TO_CLIENT)
    with serve(source(60_000)) as peer, FaultRelay("127.0.0.1", peer.port, plan=plan) as relay:
        started = time.monotonic()
        received, _ = read_all(relay.port)
        elapsed = time.monotonic() - started
        assert relay.stats.fired_at == plan.after_bytes
    assert len(received) == 60_000
    assert plan.stall_seconds <= elapsed < plan.stall_seconds + 1.5


def test_throttle_caps_the_rate_after_n_bytes() -> None:
    rate, free, total = 400_000, 100_000, 500_000
    plan = RelayPlan(kind="throttle", direction=SERVER_TO_CLIENT, after_bytes=free, rate=rate)
    with serve(source(total)) as peer, FaultRelay("127.0.0.1", peer.port, plan=plan) as relay:
        started = time.monotonic()
        received, _ = read_all(relay.port)
        elapsed = time.monotonic() - started
        assert relay.stats.fired_at == free
    expected = (total - free) / rate
    assert len(received) == total
    assert 0.9 * expected <= elapsed < expected + 1.5


def test_unreachable_target_is_recorded_not_raised() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with FaultRelay("127.0.0.1", port) as relay:
        received, _ = read_all(relay.port)
        assert relay.wait_idle()
        stats = relay.stats.per_connection[0]
    assert received == b"" and stats.ended_by == "relay" and "cannot reach" in stats.error
