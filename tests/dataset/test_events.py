"""The event log: redaction, the line format, appends under the lock, and the validator."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import stat
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from usr_harness.dataset.context import WriteContext, seeded_context
from usr_harness.dataset.events import (
    MAX_EVENT_BYTES,
    REDACTED,
    append_event,
    build_event,
    encode_event,
    is_secret_key,
    records_fingerprint,
    redact,
    tail_events,
    validate_event_log,
)
from usr_harness.dataset.journal import journal_path
from usr_harness.dataset.layout import EVENTS_FILE, EVENTS_LOCK, RECORDS_FILE
from usr_harness.dataset.registry import registry_hash
from usr_harness.errors import EventsError, LockError, StagingError
from usr_harness.faults.small_disk import PAGE
from usr_harness.sync.hooks import fill_space

FIELDS = [
    "event_version",
    "timestamp_utc",
    "action",
    "dataset",
    "args",
    "metrics",
    "artifacts",
    "maintenance",
    "fingerprint",
    "registry_hash",
    "actor",
    "version",
]


def test_redact_every_secret_key_at_any_depth() -> None:
    args = {
        "user": "me",
        "API_KEY": "k",
        "nested": {"Password": "p", "ok": [{"session_id": "s"}, {"keep": 1}]},
        "x-auth-header": "h",
        "sshToken": "t",
        "webhook_url": "w",
        "my_secret": {"deep": 1},
        "passwd": "x",
        "credentials": "c",
        "bearer": "b",
        "Cookie": "c",
    }
    clean = redact(args)
    assert clean["user"] == "me" and clean["nested"]["ok"][1] == {"keep": 1}
    hidden = [clean[k] for k in args if k not in ("user", "nested")]
    assert hidden == [REDACTED] * len(hidden)
    assert clean["nested"]["Password"] == REDACTED and clean["nested"]["ok"][0]["session_id"] == REDACTED
    assert args["API_KEY"] == "k", "redact must not touch its input"


def _append(folder: Path, **fields: object) -> dict:
    return append_event(
        folder,
        "test",
        dataset_id="demo",
        root=folder.parent,
        ctx=seeded_context(3),
        fingerprint={"rows": 0, "cols": 7, "size_bytes": 1},
        registry_hash="ab" * 32,
        **fields,
    )


def test_append_writes_one_compact_line_with_every_field(tmp_path: Path) -> None:
    event = _append(tmp_path, args={"token": "t", "n": 1}, metrics={"rows": 2}, artifacts=["a"])
    data = (tmp_path / EVENTS_FILE).read_bytes()
    assert data.count(b"\n") == 1 and data.endswith(b"\n")
    line = json.loads(data)
    assert list(line) == FIELDS and line == event
    assert line["event_version"] == 1 and line["timestamp_utc"] == "2026-01-01T00:00:03.000000Z"
    assert line["args"] == {"token": REDACTED, "n": 1}
    assert line["dataset"] == {"name": "demo", "root": "seeded-root-3"}
    assert line["actor"] == {"tool": "usr-harness", "run_id": "seed-3", "host": "mock-host", "pid": 0}
    assert b", " not in data and b": " not in data
    _append(tmp_path, args={"ünïcode": "✓"})
    assert validate_event_log((tmp_path / EVENTS_FILE).read_bytes()) == 2
    assert "✓".encode() in (tmp_path / EVENTS_FILE).read_bytes()


def test_an_oversize_or_unencodable_event_is_refused_and_the_log_is_unchanged(tmp_path: Path) -> None:
    _append(tmp_path)
    before = (tmp_path / EVENTS_FILE).read_bytes()
    with pytest.raises(EventsError, match="limit"):
        _append(tmp_path, args={"blob": "x" * MAX_EVENT_BYTES})
    with pytest.raises(EventsError, match="JSON"):
        _append(tmp_path, metrics={"bad": float("nan")})
    assert (tmp_path / EVENTS_FILE).read_bytes() == before


def test_appending_to_a_torn_log_is_refused(tmp_path: Path) -> None:
    (tmp_path / EVENTS_FILE).write_bytes(b'{"a":1}\n{"b":')
    with pytest.raises(EventsError, match="newline"):
        _append(tmp_path)
    assert (tmp_path / EVENTS_FILE).read_bytes() == b'{"a":1}\n{"b":'


def test_tail_returns_the_newest_events_oldest_first(tmp_path: Path) -> None:
    assert tail_events(tmp_path, 3) == []
    for n in range(5):
        _append(tmp_path, metrics={"n": n})
    assert [e["metrics"]["n"] for e in tail_events(tmp_path, 3)] == [2, 3, 4]
    assert len(tail_events(tmp_path, 50)) == 5


GOOD = b'{"a":1}\n{"b":[1,2]}\n'


@pytest.mark.parametrize(
    ("data", "line", "token"),
    [
        (b'{"a":1}\n\n{"b":2}\n', 2, "blank line"),
        (b'{"a":1}\n   \n', 2, "blank line"),
        (b'{"a":"\xff"}\n', 1, "invalid UTF-8"),
        (GOOD + b'{"a":\n', 3, "not JSON"),
        (GOOD + b'{"a":NaN}\n', 3, "not JSON (NaN is not JSON)"),
        (GOOD + b"[1]\n", 3, "not an object (a JSON list)"),
        (b'"text"\n', 1, "not an object"),
        (
            GOOD + b'{"a":"' + b"x" * MAX_EVENT_BYTES + b'"}\n',
            3,
            f"oversize record ({MAX_EVENT_BYTES + 9} bytes",
        ),
        (GOOD + b'{"c":3}', 3, "missing final newline"),
        (GOOD + b'{"c":', 3, "not JSON"),
        (GOOD + b'{"args":{"api_token":"hunter2"}}\n', 3, "key 'api_token' is a secret written unredacted"),
        (b'{"args":{"n":[{"password":"x"}]}}\n', 1, "key 'password'"),
    ],
)
def test_validator_names_the_first_bad_line(data: bytes, line: int, token: str) -> None:
    with pytest.raises(EventsError) as caught:
        validate_event_log(data, source="x/.events.log")
    assert f"x/.events.log: line {line}: " in caught.value.message and token in caught.value.message
    assert caught.value.paths == ["x/.events.log"]


def test_empty_log_and_a_line_of_exactly_the_limit() -> None:
    assert validate_event_log(b"") == 0
    body = b'{"a":"' + b"x" * (MAX_EVENT_BYTES - 9) + b'"}'
    assert len(body) + 1 == MAX_EVENT_BYTES
    assert validate_event_log(body + b"\n") == 1
    with pytest.raises(EventsError, match="oversize"):
        validate_event_log(b'{"a":"x' + body[6:] + b"\n")


_scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
)
_keys = st.text(max_size=8).filter(lambda key: not is_secret_key(key))
"""A secret-looking key (`SESSION`) would make a good log bad: the validator refuses it unredacted."""
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_keys, inner, max_size=3),
    max_leaves=8,
)
_objects = st.dictionaries(_keys, _values, max_size=4)
_logs = st.lists(_objects, max_size=6).map(
    lambda objs: [json.dumps(o, ensure_ascii=False, separators=(",", ":")).encode() for o in objs]
)
MALFORMED = {
    "blank line": b"",
    "invalid UTF-8": b'{"k":"\xc3\x28"}',
    "not JSON": b"{'k': 1}",
    "not an object": b"[1, 2, 3]",
    "oversize": b'{"k":"' + b"y" * MAX_EVENT_BYTES + b'"}',
}


@given(_logs)
def test_every_generated_good_log_is_accepted(lines: list[bytes]) -> None:
    assert validate_event_log(b"".join(line + b"\n" for line in lines)) == len(lines)


@given(_logs, st.sampled_from(sorted(MALFORMED)), st.integers(min_value=0, max_value=6))
def test_every_generated_bad_log_is_caught_at_its_line(lines: list[bytes], kind: str, where: int) -> None:
    where = min(where, len(lines))
    broken = [*lines[:where], MALFORMED[kind], *lines[where:]]
    with pytest.raises(EventsError) as caught:
        validate_event_log(b"".join(line + b"\n" for line in broken))
    assert f"line {where + 1}: {kind}" in caught.value.message


@given(st.lists(_objects, min_size=1, max_size=6))
def test_a_good_log_cut_before_its_last_newline_is_caught(objs: list[dict]) -> None:
    lines = [json.dumps(o, separators=(",", ":")).encode() for o in objs]
    with pytest.raises(EventsError, match=f"line {len(lines)}: missing final newline"):
        validate_event_log(b"\n".join(lines))


def test_real_contexts_record_the_real_root_and_seeded_ones_a_stable_label(tmp_path: Path) -> None:

    real = build_event(
        "x", dataset_id="demo", root=tmp_path, ctx=WriteContext(), fingerprint={}, registry_hash=None
    )
    assert real["dataset"]["root"] == str(tmp_path)
    seeded = [
        build_event(
            "x", dataset_id="demo", root=root, ctx=seeded_context(5), fingerprint={}, registry_hash=None
        )
        for root in (tmp_path / "a", tmp_path / "b")
    ]
    assert seeded[0] == seeded[1]


def test_a_dash_in_a_key_counts_as_an_underscore() -> None:
    assert is_secret_key("Api-Key") and is_secret_key("api_key") and not is_secret_key("apikey")


def test_the_records_fingerprint_reads_the_footer_and_is_zero_without_records(tmp_path: Path) -> None:
    assert records_fingerprint(tmp_path) == {"rows": 0, "cols": 0, "size_bytes": 0}
    pq.write_table(pa.table({"a": [1, 2, 3], "b": ["x", "y", "z"]}), tmp_path / RECORDS_FILE)
    size = (tmp_path / RECORDS_FILE).stat().st_size
    assert records_fingerprint(tmp_path) == {"rows": 3, "cols": 2, "size_bytes": size}


def test_an_appended_event_keeps_what_the_caller_gave(tmp_path: Path) -> None:
    event = _append(tmp_path, artifacts=["a"], maintenance={"why": "m"})
    assert (event["artifacts"], event["maintenance"]) == (["a"], {"why": "m"})
    assert (event["fingerprint"], event["registry_hash"]) == (
        {"rows": 0, "cols": 7, "size_bytes": 1},
        "ab" * 32,
    )
    assert _append(tmp_path)["artifacts"] == []


def test_a_line_of_exactly_the_limit_is_encoded_and_one_byte_more_is_not() -> None:
    event = {"action": "big", "pad": ""}
    event["pad"] = "x" * (MAX_EVENT_BYTES - len(encode_event(event)))
    assert len(encode_event(event)) == MAX_EVENT_BYTES
    with pytest.raises(EventsError, match=f"event 'big' is {MAX_EVENT_BYTES + 1} bytes"):
        encode_event({**event, "pad": event["pad"] + "x"})
    assert encode_event({"action": "p", "where": Path("/a")}) == b'{"action":"p","where":"/a"}\n'
    with pytest.raises(EventsError, match=r"^event 'n' cannot be encoded as JSON: "):
        encode_event({"action": "n", "x": float("nan")})


def test_tail_defaults_to_the_last_ten_and_nothing_for_zero(tmp_path: Path) -> None:
    for n in range(12):
        _append(tmp_path, metrics={"n": n})
    assert [e["metrics"]["n"] for e in tail_events(tmp_path)] == list(range(2, 12))
    assert [e["metrics"]["n"] for e in tail_events(tmp_path, 1)] == [11]
    assert tail_events(tmp_path, 0) == []


def test_a_new_log_is_0644_and_a_torn_one_is_named(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        _append(tmp_path)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / EVENTS_FILE).stat().st_mode) == 0o644
    (tmp_path / EVENTS_FILE).write_bytes(b'{"a":1}')
    with pytest.raises(EventsError) as caught:
        _append(tmp_path)
    assert caught.value.paths == [str(tmp_path / EVENTS_FILE)]


def test_an_event_without_a_fingerprint_or_registry_hash_gets_the_current_ones(tmp_path: Path) -> None:
    root = tmp_path / "root"
    folder = root / "demo"
    folder.mkdir(parents=True)
    event = append_event(folder, "made", dataset_id="demo", root=root, ctx=seeded_context(3))
    assert event["action"] == "made"
    assert event["fingerprint"] == {"rows": 0, "cols": 0, "size_bytes": 0}
    assert event["registry_hash"] == registry_hash(root)


def test_a_log_that_is_not_a_file_or_not_well_formed_is_named_by_tail(tmp_path: Path) -> None:
    (tmp_path / EVENTS_FILE).mkdir()
    with pytest.raises(EventsError) as caught:
        tail_events(tmp_path)
    assert caught.value.paths == [str(tmp_path / EVENTS_FILE)]
    assert caught.value.message == f"'{tmp_path / EVENTS_FILE}': the event log is a dir, not a regular file"
    (tmp_path / EVENTS_FILE).rmdir()
    (tmp_path / EVENTS_FILE).write_bytes(b"[1]\n")
    with pytest.raises(EventsError) as caught:
        tail_events(tmp_path)
    assert caught.value.paths == [str(tmp_path / EVENTS_FILE)]


def test_a_real_context_records_the_root_the_caller_gave(tmp_path: Path) -> None:
    event = append_event(tmp_path, "x", dataset_id="demo", root=tmp_path, ctx=WriteContext(), fingerprint={})
    assert event["dataset"]["root"] == str(tmp_path)


def test_no_event_is_appended_while_a_promotion_is_pending(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    folder.mkdir()
    journal = Path(journal_path(str(folder)))
    journal.parent.mkdir(parents=True, exist_ok=True)
    journal.write_text("{}")
    with pytest.raises(StagingError) as caught:
        _append(folder)
    assert caught.value.message.startswith("demo: dataset is mid-promotion")
    assert caught.value.paths == [str(journal)]
    assert not (folder / EVENTS_FILE).exists()


def test_a_write_that_fails_mid_line_leaves_the_log_as_it_was(small_disk, tmp_path: Path) -> None:
    """ENOSPC from a real, full filesystem after part of the line went in: the torn part is cut off."""
    folder = small_disk(tmp_path / "small", 64 << 10) / "demo"
    folder.mkdir()
    _append(folder)  # the log, and the lock file with its holder line, exist before the disk fills
    log = folder / EVENTS_FILE
    room = 40  # bytes left in the log's last page: the next line starts there and needs another page
    with log.open("ab") as handle:
        handle.write(b"{}" + b" " * (PAGE - log.stat().st_size % PAGE - room - 3) + b"\n")
    before = log.read_bytes()
    fill_space(str(folder.parent))
    with pytest.raises(OSError) as full:
        _append(folder, args={"note": "x" * 200})
    assert full.value.errno == errno.ENOSPC
    assert log.read_bytes() == before


def test_an_append_gives_up_on_a_held_log_lock_after_the_callers_timeout(tmp_path: Path) -> None:
    lock = tmp_path / EVENTS_LOCK
    holder = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(holder, fcntl.LOCK_EX)  # another open file description: the append's flock must wait
    started = time.monotonic()
    try:
        with pytest.raises(LockError, match=r"gave up after 0\.2 s"):
            _append(tmp_path, timeout=0.2)
    finally:
        os.close(holder)
    assert time.monotonic() - started < 5
    assert not (tmp_path / EVENTS_FILE).exists()


def test_the_log_lock_records_the_appending_writer_as_its_holder(tmp_path: Path) -> None:
    ctx = seeded_context(3)
    writer = f"host={ctx.actor.host} pid={ctx.actor.pid}"
    assert writer != f"host={socket.gethostname()} pid={os.getpid()}"  # the two can be told apart
    _append(tmp_path)
    assert (tmp_path / EVENTS_LOCK).read_text() == writer + "\n"
