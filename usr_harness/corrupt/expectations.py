"""What each corruption must draw from each command: the catalogue's contract with the engine.

The scenario every expectation assumes: local and remote were in sync (a
successful sync recorded its base manifest), then ONE corruption was applied on
ONE side, then the command ran on the local machine.

Outcomes:
- a family name (`verify`, `sidecars`, `events`, `diverged`, `dataset`, `schema`,
  `registry`): the command must fail with that family, before changing either side;
  `token` (when set) must appear in the message;
- `changed`: the command succeeds and treats the change as ordinary data (diff
  flags the section; pull/push propagate it, the audit flags the section);
- `kept`: the command succeeds and moves nothing: the change is a file new on the
  target side since the last sync, that side's addition, which the audit lists as kept;
- `blind`: the command reads the file but is allowed to miss the change (a weaker
  verify profile comparing by size, or validate facing a change a single valid
  dataset cannot reveal). A run that misses it is recorded as a known blind spot,
  never as a pass;
- `n/a`: the command does not read this at all (validate: the remote side and
  auxiliary files; sync: the datasets root's registry.yaml).

Sync, from SPEC §3: mutable files (records, meta, auxiliary) changed on the source
side are propagated, and on the target side are `diverged` (nothing lost); a file
new since the last sync is an addition: copied from the source side, kept on the
target side (a rename is a new name plus a deleted one, which the source restores); overlay
parts and snapshots are immutable, so any byte change on either side is `sidecars`;
event logs only grow and are validated, so anything but a clean complete-line
extension is `events`; a symlink or fifo is refused (`symlink entry`) with the
family of its section; staged parquet files are decoded with page checksums (`verify`).

Validate means `usr validate --strict` on the local dataset: a missing or
non-regular records file or meta.md is `dataset`; unreadable records or snapshots
and page-checksum failures are `verify`; an unreadable part footer, tampered `usr:`
metadata and anything but well-named regular files under `_derived/` or
`_snapshots/` are `schema`; a broken event log is `events`; a registry.yaml that
is not UTF-8 YAML of the right shape is `registry`. A missing event log or
registry.yaml reads as empty, and frozen `_registry/` copies explain old hashes,
so deleting either or editing the registry is `blind` to validate.

Weaker profiles only ever turn a same-size, content-only change of a section they
compare by size into `blind`: `no-derived-hashes` compares derived and auxiliary
files by size, `no-sidecars` every sidecar section, `size` the records file.
"""

from __future__ import annotations

from dataclasses import dataclass

COMMANDS = ("diff", "pull", "push", "validate")
PROFILES = ("strict", "no-derived-hashes", "no-sidecars", "size")
SIDES = ("local", "remote")
CHANGED, KEPT, BLIND, NA = "changed", "kept", "blind", "n/a"
VERIFY, SIDECARS, EVENTS, DIVERGED = "verify", "sidecars", "events", "diverged"
DATASET, SCHEMA, REGISTRY = "dataset", "schema", "registry"

SYMLINK_TOKEN = "symlink entry"
SAME_SIZE_KINDS = ("byte-flip", "footer-damage", "kv-tamper", "branched", "reordered")
SIZE_COMPARED = {
    "strict": (),
    "no-derived-hashes": ("derived", "auxiliary"),
    "no-sidecars": ("meta", "snapshots", "derived", "auxiliary"),
    "size": ("primary",),
}
_MISSING_TOKEN = {
    ("remote", "pull"): "remote records.parquet is missing",
    ("local", "push"): "local records.parquet is missing",
}

Remote = tuple[str, str, str]
Local = tuple[str, str, str, str]


@dataclass(frozen=True)
class Expected:
    side: str
    command: str
    profile: str
    outcome: str
    token: str | None = None

    @property
    def is_error(self) -> bool:
        return self.outcome not in (CHANGED, KEPT, BLIND, NA)


def _ordinary(validate: str = NA) -> tuple[Remote, Local]:
    """A change sync cannot tell from real work: the source side's change propagates, while on
    the target side it would be overwritten or deleted, which is `diverged`."""
    return (CHANGED, CHANGED, DIVERGED), (CHANGED, DIVERGED, CHANGED, validate)


def _added(validate: str = NA) -> tuple[Remote, Local]:
    """A file new since the last sync: the source side's is copied, the target side's is kept."""
    return (CHANGED, CHANGED, KEPT), (CHANGED, KEPT, CHANGED, validate)


def _renamed(validate: str = NA) -> tuple[Remote, Local]:
    """A new name (an addition, kept on the target side) and a missing old one the source restores."""
    return (CHANGED, CHANGED, CHANGED), (CHANGED, CHANGED, CHANGED, validate)


def _immutable(validate: str) -> tuple[Remote, Local]:
    return (SIDECARS, SIDECARS, SIDECARS), (SIDECARS, SIDECARS, SIDECARS, validate)


def _refused(family: str, validate: str) -> tuple[Remote, Local]:
    """A symlink or fifo: every command refuses it, never follows or opens it."""
    return (family, family, family), (family, family, family, validate)


def _removed(validate: str) -> tuple[Remote, Local]:
    """Deleted on one side, unchanged on the other: the deletion or the restore propagates."""
    return (CHANGED, CHANGED, CHANGED), (CHANGED, CHANGED, CHANGED, validate)


def _broken_log(validate: str) -> tuple[Remote, Local]:
    return (CHANGED, EVENTS, EVENTS), (CHANGED, EVENTS, EVENTS, validate)


_UNREADABLE_RECORDS = (CHANGED, VERIFY, DIVERGED), (CHANGED, DIVERGED, VERIFY, VERIFY)
_REGISTRY_BROKEN = (NA, NA, NA), (NA, NA, NA, REGISTRY)
_REGISTRY_ACCEPTED = (NA, NA, NA), (NA, NA, NA, BLIND)

STRICT: dict[tuple[str, str], tuple[Remote, Local]] = {
    ("primary", "delete"): ((CHANGED, VERIFY, CHANGED), (CHANGED, CHANGED, VERIFY, DATASET)),
    ("primary", "truncate"): _UNREADABLE_RECORDS,
    ("primary", "byte-flip"): _UNREADABLE_RECORDS,
    ("primary", "append-garbage"): _UNREADABLE_RECORDS,
    ("primary", "symlink-inside"): _refused(VERIFY, DATASET),
    ("primary", "symlink-outside"): _refused(VERIFY, DATASET),
    ("primary", "fifo"): _refused(VERIFY, DATASET),
    ("primary", "rename"): ((CHANGED, VERIFY, CHANGED), (CHANGED, CHANGED, VERIFY, DATASET)),
    ("primary", "footer-damage"): _UNREADABLE_RECORDS,
    ("primary", "kv-tamper"): _ordinary(SCHEMA),
    ("meta", "delete"): _removed(DATASET),
    ("meta", "truncate"): _ordinary(BLIND),
    ("meta", "byte-flip"): _ordinary(BLIND),
    ("meta", "append-garbage"): _ordinary(BLIND),
    ("meta", "symlink-inside"): _refused(SIDECARS, DATASET),
    ("meta", "symlink-outside"): _refused(SIDECARS, DATASET),
    ("meta", "fifo"): _refused(SIDECARS, DATASET),
    ("meta", "rename"): _renamed(DATASET),
    ("events", "delete"): ((CHANGED, DIVERGED, DIVERGED), (CHANGED, DIVERGED, DIVERGED, BLIND)),
    ("events", "truncate"): ((CHANGED, EVENTS, CHANGED), (CHANGED, CHANGED, EVENTS, BLIND)),
    ("events", "byte-flip"): _broken_log(EVENTS),
    ("events", "append-garbage"): _broken_log(EVENTS),
    ("events", "symlink-inside"): _refused(EVENTS, EVENTS),
    ("events", "symlink-outside"): _refused(EVENTS, EVENTS),
    ("events", "fifo"): _refused(EVENTS, EVENTS),
    ("events", "rename"): ((CHANGED, DIVERGED, DIVERGED), (CHANGED, DIVERGED, DIVERGED, BLIND)),
    ("events", "cut-mid-line"): _broken_log(EVENTS),
    ("events", "branched"): _broken_log(BLIND),
    ("events", "reordered"): _broken_log(BLIND),
    ("events", "invalid-utf8"): _broken_log(EVENTS),
    ("events", "oversize-record"): _broken_log(EVENTS),
    ("events", "no-final-newline"): _broken_log(EVENTS),
    ("snapshots", "delete"): _removed(BLIND),
    ("snapshots", "truncate"): _immutable(VERIFY),
    ("snapshots", "byte-flip"): _immutable(VERIFY),
    ("snapshots", "append-garbage"): _immutable(VERIFY),
    ("snapshots", "symlink-inside"): _refused(SIDECARS, SCHEMA),
    ("snapshots", "symlink-outside"): _refused(SIDECARS, SCHEMA),
    ("snapshots", "fifo"): _refused(SIDECARS, SCHEMA),
    ("snapshots", "stray-file"): _added(SCHEMA),
    ("snapshots", "rename"): _renamed(BLIND),
    ("snapshots", "footer-damage"): _immutable(VERIFY),
    ("snapshots", "kv-tamper"): _immutable(SCHEMA),
    ("derived", "delete"): _removed(BLIND),
    ("derived", "truncate"): _immutable(SCHEMA),
    ("derived", "byte-flip"): _immutable(VERIFY),
    ("derived", "append-garbage"): _immutable(SCHEMA),
    ("derived", "symlink-inside"): _refused(SIDECARS, SCHEMA),
    ("derived", "symlink-outside"): _refused(SIDECARS, SCHEMA),
    ("derived", "fifo"): _refused(SIDECARS, SCHEMA),
    ("derived", "stray-file"): _added(SCHEMA),
    ("derived", "rename"): _renamed(BLIND),
    ("derived", "footer-damage"): _immutable(SCHEMA),
    ("derived", "kv-tamper"): _immutable(SCHEMA),
    ("auxiliary", "delete"): _removed(NA),
    ("auxiliary", "truncate"): _ordinary(),
    ("auxiliary", "byte-flip"): _ordinary(),
    ("auxiliary", "append-garbage"): _ordinary(),
    ("auxiliary", "symlink-inside"): _refused(SIDECARS, NA),
    ("auxiliary", "symlink-outside"): _refused(SIDECARS, NA),
    ("auxiliary", "fifo"): _refused(SIDECARS, NA),
    ("auxiliary", "stray-file"): _added(),
    ("auxiliary", "rename"): _renamed(),
    ("registry", "delete"): _REGISTRY_ACCEPTED,
    ("registry", "truncate"): _REGISTRY_ACCEPTED,
    ("registry", "byte-flip"): _REGISTRY_BROKEN,
    ("registry", "append-garbage"): _REGISTRY_BROKEN,
    ("registry", "symlink-outside"): _REGISTRY_BROKEN,
    ("registry", "fifo"): _REGISTRY_BROKEN,
    ("registry", "rename"): _REGISTRY_ACCEPTED,
    ("registry", "hash-drift"): _REGISTRY_ACCEPTED,
}
"""Per (section, kind): remote-side (diff, pull, push) and local-side (diff, pull, push, validate)
outcomes under the strict default profile. Its order is the catalogue's order."""


def expectations(section: str, kind: str) -> tuple[Expected, ...]:
    """Every (side, command, profile) outcome of one catalogue entry, strict table plus profile rule."""
    remote, local = STRICT[(section, kind)]
    rows = []
    for side, outcomes in (("local", local), ("remote", (*remote, NA))):
        for command, strict in zip(COMMANDS, outcomes, strict=True):
            for profile in PROFILES:
                outcome = _under_profile(strict, section, kind, command, profile)
                rows.append(Expected(side, command, profile, outcome, _token(outcome, kind, side, command)))
    return tuple(rows)


def _under_profile(strict: str, section: str, kind: str, command: str, profile: str) -> str:
    weakened = kind in SAME_SIZE_KINDS and section in SIZE_COMPARED[profile]
    if weakened and command != "validate" and strict != NA:
        return BLIND
    return strict


def _token(outcome: str, kind: str, side: str, command: str) -> str | None:
    if outcome in (CHANGED, KEPT, BLIND, NA) or command == "validate":
        return None
    if kind.startswith("symlink"):
        return SYMLINK_TOKEN
    if kind in ("delete", "rename") and outcome == VERIFY:
        return _MISSING_TOKEN.get((side, command))
    return None
