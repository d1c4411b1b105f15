"""The persisted hash caches of both sides over the real loopback sshd, counted through the audit.

Every test first waits out the racy window once (files younger than it are never trusted),
then counts the files each side read whole (`hash_cache.<side>.reads`), never the time taken.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import pytest

from tests.sync.test_engine_ssh import flip_same_size
from tests.usr_sides import DATASET, Sides, make_dataset
from usr_harness.dataset.layout import is_runtime
from usr_harness.report.fingerprint import fingerprint_tree
from usr_harness.sync.inventory.hash_cache import RACY_NS
from usr_harness.sync.inventory.hash_store import store_path

pytestmark = pytest.mark.ssh


def in_sync_and_settled(sides: Sides) -> int:
    """Both sides equal and older than the racy window; returns how many files a side holds."""
    make_dataset(sides.remote_root)
    assert sides.usr("pull", DATASET, "loopback", "-y").code == 0
    time.sleep(RACY_NS / 1e9 + 0.2)
    return sum(1 for path in sides.local.rglob("*") if path.is_file() and not is_runtime(path.name))


def reads(result) -> tuple[int, int]:
    cache = result.audit["hash_cache"]
    return cache["local"]["reads"], cache["remote"]["reads"]


def states(result) -> tuple[str, str]:
    cache = result.audit["hash_cache"]
    return cache["local"]["state"], cache["remote"]["state"]


def test_warm_no_ops_read_nothing_and_rehash_reads_everything(sides: Sides) -> None:
    files = in_sync_and_settled(sides)
    cold = sides.usr("diff", DATASET, "loopback")
    assert cold.audit["data"]["up_to_date"] is True and reads(cold)[0] == files
    for args in (("diff",), ("pull", "-y"), ("push", "-y")):
        warm = sides.usr(args[0], DATASET, "loopback", *args[1:])
        assert warm.code == 0, warm.err
        assert reads(warm) == (0, 0) and states(warm) == ("ok", "ok"), args
        assert warm.audit["hash_cache"]["local"]["hits"] == files
    assert sides.usr("pull", DATASET, "loopback", "-y").audit["data"]["transfer_state"] == "NO-OP"
    scrub = sides.usr("diff", DATASET, "loopback", "--rehash")
    assert scrub.audit["data"]["up_to_date"] is True
    assert reads(scrub) == (files, files) and states(scrub) == ("ignored", "ignored")
    scrubbed_pull = sides.usr("pull", DATASET, "loopback", "-y", "--rehash")
    assert scrubbed_pull.audit["data"]["transfer_state"] == "NO-OP" and reads(scrubbed_pull) == (files, files)


@pytest.mark.parametrize("side", ["local", "remote"])
def test_a_cached_part_edited_in_place_is_reported_and_never_propagated(sides: Sides, side: str) -> None:
    in_sync_and_settled(sides)
    assert reads(sides.usr("diff", DATASET, "loopback"))[0] > 0
    folder = sides.local if side == "local" else sides.remote
    part = next((folder / "_derived").rglob("*.parquet"))
    flip_same_size(part)
    rel = str(part.relative_to(folder))
    seen = sides.usr("diff", DATASET, "loopback")
    assert seen.code == 8, seen.err
    assert seen.audit["data"]["_derived"]["content_changed"] == [rel]
    assert reads(seen) == ((1, 0) if side == "local" else (0, 1))
    before = sides.fingerprints()
    carried = sides.usr("push" if side == "local" else "pull", DATASET, "loopback", "-y")
    assert carried.code == 8 and "error[sidecars]" in carried.err and rel in carried.err
    assert sides.fingerprints() == before


def test_damaged_caches_are_ignored_then_rebuilt(sides: Sides) -> None:
    files = in_sync_and_settled(sides)
    sides.usr("diff", DATASET, "loopback")
    local_cache = Path(store_path(str(sides.local_root), DATASET))
    remote_cache = Path(store_path(str(sides.remote_root), DATASET))
    local_cache.write_bytes(local_cache.read_bytes().replace(b'"version": 1', b'"version": 7'))
    remote_cache.write_bytes(remote_cache.read_bytes()[:-40])
    before = sides.fingerprints()
    damaged = sides.usr("diff", DATASET, "loopback")
    assert damaged.code == 0 and damaged.audit["data"]["up_to_date"] is True
    assert states(damaged) == ("foreign-version", "corrupt") and reads(damaged) == (files, files)
    assert sides.fingerprints() == before
    rebuilt = sides.usr("diff", DATASET, "loopback")
    assert states(rebuilt) == ("ok", "ok") and reads(rebuilt) == (0, 0)


def test_doctor_reports_the_remote_cache(sides: Sides) -> None:
    in_sync_and_settled(sides)
    sides.usr("diff", DATASET, "loopback")
    done = sides.usr("remotes", "doctor", "loopback", "--json")
    assert done.code == 0, done.err
    checks = {check["name"]: check for check in json.loads(done.out)["checks"]}
    assert checks["hash cache"]["status"] == "ok"
    assert "1 dataset(s)" in checks["hash cache"]["detail"]
    remote_cache = Path(store_path(str(sides.remote_root), DATASET))
    remote_cache.write_bytes(b"garbage")
    checks = {
        c["name"]: c for c in json.loads(sides.usr("remotes", "doctor", "loopback", "--json").out)["checks"]
    }
    assert checks["hash cache"]["status"] == "warn" and "1 corrupt" in checks["hash cache"]["detail"]
    assert fingerprint_tree(sides.remote) == fingerprint_tree(sides.local)


def forge_entry(cache: Path, rel: str, path: Path) -> None:
    """Make the cache vouch for `path`'s current stat with the sha256 it held before: bit rot, as seen
    by a stat-trusting cache (the bytes moved, the cache still answers)."""
    header, body = cache.read_bytes().split(b"\n", 1)
    entries = json.loads(body)
    info = path.stat()
    stat = [info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns]
    entries[rel] = [*stat, info.st_ctime_ns + 3 * RACY_NS, entries[rel][6]]
    body = json.dumps(entries).encode()
    fields = {**json.loads(header), "sha256": hashlib.sha256(body).hexdigest()}
    cache.write_bytes(json.dumps(fields).encode() + b"\n" + body)


def test_a_lying_remote_cache_cannot_make_a_push_overwrite_unseen_bytes(sides: Sides) -> None:
    in_sync_and_settled(sides)
    sides.usr("diff", DATASET, "loopback")
    remote_meta = sides.remote / "meta.md"
    flip_same_size(remote_meta)
    forge_entry(Path(store_path(str(sides.remote_root), DATASET)), "meta.md", remote_meta)
    assert sides.usr("diff", DATASET, "loopback").audit["data"]["up_to_date"] is True  # the lie, as told
    with (sides.local / "meta.md").open("a") as handle:
        handle.write("a laptop note\n")
    before = sides.fingerprints()
    pushed = sides.usr("push", DATASET, "loopback", "-y")
    assert pushed.code == 10 and "changed while the push was planned" in pushed.err, pushed.err
    assert sides.fingerprints() == before
    assert sides.usr("diff", DATASET, "loopback", "--rehash").audit["data"]["meta"]["changed"] is True


def test_a_lying_remote_cache_cannot_make_a_pull_promote_other_bytes(sides: Sides) -> None:
    make_dataset(sides.remote_root)
    assert sides.usr("pull", DATASET, "loopback", "-y").code == 0
    new_file = sides.remote / "_artifacts" / "run-7.csv"
    new_file.parent.mkdir()
    new_file.write_bytes(b"step,loss\n0,0.5\n")
    time.sleep(RACY_NS / 1e9 + 0.2)
    sides.usr("diff", DATASET, "loopback")
    flip_same_size(new_file)
    forge_entry(Path(store_path(str(sides.remote_root), DATASET)), "_artifacts/run-7.csv", new_file)
    before = sides.fingerprints()
    pulled = sides.usr("pull", DATASET, "loopback", "-y")
    assert pulled.code == 8 and "do not match the remote manifest" in pulled.err, pulled.err
    assert sides.fingerprints() == before and not (sides.local / "_artifacts").exists()
