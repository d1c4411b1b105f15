"""Security drills: host keys are never learned blindly, ids and paths never escape, secrets never leak."""

from __future__ import annotations

import json
import os

import pytest

from usr_harness.hosts.keys import write_ed25519_keypair

from .conftest import DATASET, Sync

pytestmark = [pytest.mark.drill, pytest.mark.ssh]


@pytest.mark.enforces("H-host-key-trust")
def test_unknown_host_key_is_refused(sync: Sync, tmp_path):
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    sync.retarget(known_hosts=empty)
    result = sync.diff()
    assert sync.refused(result, "auth"), result.message
    assert empty.read_text() == "", "a host key was learned without trust"


@pytest.mark.enforces("H-host-key-trust")
def test_changed_host_key_is_refused(sync: Sync, tmp_path):
    name = sync.remote.spec.known_hosts.read_text().split()[0]
    impostor = write_ed25519_keypair(tmp_path / "impostor", "impostor")
    forged = tmp_path / "forged_known_hosts"
    forged.write_text(f"{name} {impostor}\n")
    sync.retarget(known_hosts=forged)
    result = sync.pull()
    assert sync.refused(result, "auth"), result.message
    assert not (sync.local_root / DATASET).exists()


@pytest.mark.enforces("H-quote-dataset-id")
@pytest.mark.parametrize(
    "bad_id", ["../escape", "a;rm -rf x", "with space", "new\nline", "/abs", "archived/x"]
)
def test_hostile_dataset_ids_are_refused_before_any_remote_call(sync: Sync, bad_id: str):
    sync.retarget(port=1)
    for result in (sync.diff(dataset=bad_id), sync.pull(dataset=bad_id)):
        assert sync.refused(result, "usage"), result.message


@pytest.mark.enforces("H-no-link-follow")
def test_symlink_escaping_the_dataset_is_refused(sync: Sync):
    sync.hpc_rounds(0, 1)
    assert sync.pull().ok
    part = next((sync.hpc / "_derived").rglob("*.parquet"))
    evil = part.with_name("part-20990101T000000000000-deadbeef.parquet")
    os.symlink("/etc/passwd", evil)
    before = sync.fingerprint("before")
    result = sync.pull()
    assert sync.refused(result, "sidecars"), result.message
    assert sync.says(result, "symlink entry"), result.message
    sync.unchanged(before, "a refused pull")


@pytest.mark.enforces("H-redact-secrets")
def test_secrets_are_redacted_in_events_and_audits(sync: Sync):
    """A producer on the HPC side wrote an event line with its secrets in clear (raw, not through any
    redacting writer): no copy of the log, no audit and no output may carry them. The engine may refuse
    the log (changing nothing) or carry it with the secrets redacted; copying it is a leak."""
    sync.hpc_rounds(0, 1)
    secret = "hunter2-SECRET-VALUE"
    log = sync.hpc / ".events.log"
    event = json.loads(log.read_bytes().splitlines()[-1])
    event["args"] = {"api_token": secret, "nested": {"password": secret}, "plain": "visible"}
    with open(log, "ab") as handle:
        handle.write(json.dumps(event, separators=(",", ":")).encode() + b"\n")
    before = sync.prints()
    result = sync.pull()
    copied = sync.local / ".events.log"
    leaked = copied.exists() and secret.encode() in copied.read_bytes()
    assert not leaked, "the secret reached the local log"
    assert secret not in json.dumps(result.audit) + result.stdout + result.stderr, "the secret was printed"
    if not result.ok:
        assert sync.refused(result, "events"), result.message
        sync.unchanged(before, "a refused pull of a log with secrets")
