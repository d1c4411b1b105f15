"""The corruption kinds: each breaks one target file through a `Tree` and says exactly what it did.

An injector gets a `Job` (tree, dataset, section, chosen target, seeded rng) and
returns the tree-relative paths whose bytes or type it changed plus a one-line
detail (offset, old and new byte, new name...), which is the evidence a drill
records. In-place edits that keep the size also put atime and mtime back to the
nanosecond: a same-size, same-mtime change is exactly what sync must still catch.
"""

from __future__ import annotations

import posixpath
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

import yaml

from usr_harness.corrupt import event_edits, parquet_bytes, targets
from usr_harness.corrupt.tree import Tree
from usr_harness.dataset.layout import DERIVED_PART_NAME, SNAPSHOT_NAME
from usr_harness.errors import UsageError

OUTSIDE_TARGET = "/etc/passwd"
GARBAGE_MARK = b"\xffUSR-HARNESS-GARBAGE:"
PARQUET_SECTIONS = ("primary", "snapshots", "derived")
TEXT_SECTIONS = ("events", "registry")
_STAMP_FORMAT = "%Y%m%dT%H%M%S%f"
_TAMPERED_KEYS = {
    "primary": "usr:schema_version",
    "snapshots": "usr:schema_version",
    "derived": "usr:namespace_contract_hash",
}


@dataclass(frozen=True)
class Job:
    tree: Tree
    dataset: str
    section: str
    path: str
    rng: random.Random


@dataclass(frozen=True)
class Outcome:
    paths: tuple[str, ...]
    detail: str


Injector = Callable[[Job], Outcome]


def delete(job: Job) -> Outcome:
    job.tree.unlink(job.path)
    return Outcome((job.path,), "deleted")


def truncate(job: Job) -> Outcome:
    size = job.tree.stat(job.path).size
    if size == 0:
        raise UsageError(f"{job.tree.describe(job.path)} is empty; nothing to truncate")
    if job.section == "events":
        data, note = event_edits.drop_last_lines(job.tree.read_bytes(job.path), job.rng)
        job.tree.truncate(job.path, len(data))
        return Outcome((job.path,), f"truncated at a line boundary: {note}")
    new_size = job.rng.randrange(size)
    job.tree.truncate(job.path, new_size)
    return Outcome((job.path,), f"truncated {size} -> {new_size} bytes")


def byte_flip(job: Job) -> Outcome:
    """Parquet: inside page data (checksummed); event log and registry: an ASCII byte made invalid
    UTF-8; anything else: any byte. So whether a reader can notice is certain, not luck."""
    data = job.tree.read_bytes(job.path)
    if not data:
        raise UsageError(f"{job.tree.describe(job.path)} is empty; no byte to flip")
    if job.section in TEXT_SECTIONS:
        offset, mask = event_edits.ascii_offset(data, job.rng), 0x80
    elif job.section in PARQUET_SECTIONS:
        offset, mask = parquet_bytes.page_data_offset(data, job.rng), job.rng.randrange(1, 256)
    else:
        offset, mask = job.rng.randrange(len(data)), job.rng.randrange(1, 256)
    new = data[offset] ^ mask
    with _times_kept(job):
        job.tree.write_at(job.path, offset, bytes([new]))
    return Outcome((job.path,), f"offset {offset}: 0x{data[offset]:02x} -> 0x{new:02x}, mtime kept")


def append_garbage(job: Job) -> Outcome:
    garbage = GARBAGE_MARK + job.rng.randbytes(32)
    job.tree.append(job.path, garbage)
    return Outcome((job.path,), f"appended {len(garbage)} bytes of garbage")


def symlink_inside(job: Job) -> Outcome:
    target = targets.other_file(job.tree, job.dataset, job.path, job.rng)
    link = posixpath.relpath(target, posixpath.dirname(job.path) or ".")
    job.tree.unlink(job.path)
    job.tree.symlink(link, job.path)
    return Outcome((job.path,), f"replaced by a symlink -> {link} (inside the dataset)")


def symlink_outside(job: Job) -> Outcome:
    job.tree.unlink(job.path)
    job.tree.symlink(OUTSIDE_TARGET, job.path)
    return Outcome((job.path,), f"replaced by a symlink -> {OUTSIDE_TARGET} (outside the dataset)")


def fifo(job: Job) -> Outcome:
    job.tree.unlink(job.path)
    job.tree.mkfifo(job.path)
    return Outcome((job.path,), "replaced by a fifo")


def stray_file(job: Job) -> Outcome:
    """A new file nobody wrote, beside the target (auxiliary: at the dataset's top level)."""
    folder = job.dataset if job.section == "auxiliary" else posixpath.dirname(job.path)
    path = _unused(job.tree, lambda: posixpath.join(folder, f"stray-{job.rng.getrandbits(32):08x}.bin"))
    job.tree.write_bytes(path, job.rng.randbytes(256))
    return Outcome((path,), "new stray file of 256 bytes")


def rename(job: Job) -> Outcome:
    """Parts and snapshots get another well-formed name of their kind; other files a suffix."""
    folder, name = posixpath.split(job.path)
    new_path = _unused(job.tree, lambda: posixpath.join(folder, _new_name(name, job.rng)))
    job.tree.rename(job.path, new_path)
    return Outcome((job.path, new_path), f"renamed to {new_path}")


def footer_damage(job: Job) -> Outcome:
    data = job.tree.read_bytes(job.path)
    start, end = parquet_bytes.footer_span(data)
    count = min(parquet_bytes.FOOTER_DAMAGE_BYTES, end - start)
    with _times_kept(job):
        job.tree.write_at(job.path, start, bytes(count))
    return Outcome((job.path,), f"zeroed {count} footer bytes at offset {start}, mtime kept")


def kv_tamper(job: Job) -> Outcome:
    key = _TAMPERED_KEYS[job.section]
    try:
        data, old, new = parquet_bytes.tamper_metadata(job.tree.read_bytes(job.path), key, job.rng)
    except KeyError as error:
        raise UsageError(f"{job.tree.describe(job.path)}: {error.args[0]}") from None
    with _times_kept(job):
        job.tree.write_bytes(job.path, data)
    return Outcome((job.path,), f"rewrote with {key} {old!r} -> {new!r}, mtime kept")


def cut_mid_line(job: Job) -> Outcome:
    data, note = event_edits.cut_mid_line(job.tree.read_bytes(job.path), job.rng)
    job.tree.truncate(job.path, len(data))
    return Outcome((job.path,), note)


def branched(job: Job) -> Outcome:
    return _rewrite_same_size(job, event_edits.branch_last_line)


def reordered(job: Job) -> Outcome:
    return _rewrite_same_size(job, event_edits.swap_lines)


def invalid_utf8(job: Job) -> Outcome:
    line = event_edits.invalid_utf8_line(job.tree.read_bytes(job.path))
    job.tree.append(job.path, line)
    return Outcome((job.path,), f"appended a {len(line)}-byte line that is not UTF-8")


def oversize_record(job: Job) -> Outcome:
    line = event_edits.oversize_line(job.tree.read_bytes(job.path))
    job.tree.append(job.path, line)
    limit = event_edits.LINE_LIMIT
    return Outcome((job.path,), f"appended a valid {len(line)}-byte event line (limit {limit})")


def no_final_newline(job: Job) -> Outcome:
    line = event_edits.unterminated_line(job.tree.read_bytes(job.path))
    job.tree.append(job.path, line)
    return Outcome((job.path,), f"appended a valid {len(line)}-byte event with no final newline")


def hash_drift(job: Job) -> Outcome:
    """A well-formed registry edit (one namespace's description) that changes the registry hash."""
    try:
        document = yaml.safe_load(job.tree.read_bytes(job.path))
    except yaml.YAMLError as error:
        raise UsageError(f"{job.tree.describe(job.path)} is not YAML: {error}") from None
    namespaces = document.get("namespaces") if isinstance(document, dict) else None
    if not isinstance(namespaces, dict) or not namespaces:
        raise UsageError(f"{job.tree.describe(job.path)} registers no namespace to edit")
    name = job.rng.choice(sorted(namespaces))
    entry = namespaces[name]
    if not isinstance(entry, dict):
        raise UsageError(f"{job.tree.describe(job.path)}: namespace {name} is not a mapping")
    entry["description"] = f"{entry.get('description') or ''} (edited {job.rng.getrandbits(32):08x})".strip()
    job.tree.write_bytes(job.path, yaml.safe_dump(document, sort_keys=True).encode())
    return Outcome((job.path,), f"edited the description of namespace {name}")


INJECTORS: dict[str, Injector] = {
    "delete": delete,
    "truncate": truncate,
    "byte-flip": byte_flip,
    "append-garbage": append_garbage,
    "symlink-inside": symlink_inside,
    "symlink-outside": symlink_outside,
    "fifo": fifo,
    "stray-file": stray_file,
    "rename": rename,
    "footer-damage": footer_damage,
    "kv-tamper": kv_tamper,
    "cut-mid-line": cut_mid_line,
    "branched": branched,
    "reordered": reordered,
    "invalid-utf8": invalid_utf8,
    "oversize-record": oversize_record,
    "no-final-newline": no_final_newline,
    "hash-drift": hash_drift,
}


def _rewrite_same_size(job: Job, edit: Callable[[bytes, random.Random], tuple[bytes, str]]) -> Outcome:
    edited, note = edit(job.tree.read_bytes(job.path), job.rng)
    with _times_kept(job):
        job.tree.write_bytes(job.path, edited)
    return Outcome((job.path,), f"{note}, same size, mtime kept")


@contextmanager
def _times_kept(job: Job) -> Iterator[None]:
    """Put atime and mtime back (to the nanosecond) after an in-place edit."""
    times = job.tree.times_ns(job.path)
    yield
    job.tree.utime_ns(job.path, *times)


def _new_name(name: str, rng: random.Random) -> str:
    part = DERIVED_PART_NAME.match(name)
    if part:
        width = len(part.group(2))
        return f"part-{part.group(1)}-{rng.getrandbits(4 * width):0{width}x}.parquet"
    snapshot = SNAPSHOT_NAME.match(name)
    if snapshot:
        stamp = datetime.strptime(snapshot.group(1), _STAMP_FORMAT)
        later = stamp + timedelta(microseconds=rng.randint(1, 999_999))
        return f"records-{later.strftime(_STAMP_FORMAT)}.parquet"
    return f"{name}.renamed-{rng.getrandbits(32):08x}"


def _unused(tree: Tree, propose: Callable[[], str]) -> str:
    for _ in range(100):
        path = propose()
        if not tree.exists(path):
            return path
    raise UsageError("could not find an unused name for the corruption")
