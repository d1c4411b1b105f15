"""The audit of a diff, pull or push: the machine-readable JSON and the plain-text block."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

from usr_harness.dataset.fsio import atomic_write_bytes
from usr_harness.sync.inventory.manifest import Manifest
from usr_harness.sync.options import SyncOptions
from usr_harness.sync.plan.diff import DiffResult, newer_snapshots
from usr_harness.sync.plan.direction import advice

OUTPUT_VERSION = 1


class PlanBlock(TypedDict):
    copy: list[str]
    delete: list[str]
    forced: list[str]
    copy_bytes: int
    delete_bytes: int


class KeptBlock(TypedDict):
    side: str
    paths: list[str]


class TransferBlock(TypedDict):
    files: int
    bytes: int
    deleted: int


class PostBlock(TypedDict):
    up_to_date: bool
    changed: dict[str, bool]


DATASET_BLOCK_ORDER = ("direction", "plan", "kept", "forced", "transfer", "post", "error")
FILE_BLOCK_ORDER = ("forced", "post", "transfer", "error", "plan", "kept")
"""File mode post-verifies before it counts what moved; it never plans sections nor keeps files."""


@dataclass
class AuditRecord:
    """What a command learned beyond the manifests and the diff, as it learned it.

    A field still None is absent from the audit, so a command that failed before its plan
    reports no plan rather than an empty one.
    """

    direction: str | None = None
    """A diff's `plan/direction` name: which side is ahead of the last sync."""
    plan: PlanBlock | None = None
    kept: KeptBlock | None = None
    forced: list[str] | None = None
    transfer: TransferBlock | None = None
    post: PostBlock | None = None
    error: dict[str, object] | None = None

    def blocks(self, order: tuple[str, ...] = DATASET_BLOCK_ORDER) -> dict[str, object]:
        """The audit keys in `order` (a dataset audit's unless told), each field still None left out."""
        present = {key: getattr(self, key) for key in order}
        return {key: value for key, value in present.items() if value is not None}


def _side_primary(manifest: Manifest) -> dict | None:
    entry = manifest.primary
    if entry is None:
        return None
    data = {"size": entry.size, "sha256": entry.sha256}
    if manifest.primary_stats:
        data.update(manifest.primary_stats)
    return data


def _side_events(manifest: Manifest) -> dict | None:
    entry = manifest.events_entry
    if entry is None:
        return None
    lines = manifest.events.lines if manifest.events else None
    return {"size": entry.size, "sha256": entry.sha256, "lines": lines}


def primary_report(local: Manifest, remote: Manifest, diff: DiffResult) -> dict:
    """The primary's block: whether it differs, and what each side holds (None: missing)."""
    return {
        "changed": diff.sections["primary"].changed,
        "local": _side_primary(local),
        "remote": _side_primary(remote),
    }


def section_report(local: Manifest, remote: Manifest, diff: DiffResult) -> dict:
    """The per-section block of SPEC §3 (state before any transfer)."""
    s = diff.sections
    report = {
        "primary": primary_report(local, remote, diff),
        "meta": {"changed": s["meta"].changed},
        ".events.log": {
            "changed": diff.events_changed,
            "local": _side_events(local),
            "remote": _side_events(remote),
        },
        "_snapshots": {
            "changed": s["snapshots"].changed,
            "local_count": s["snapshots"].local_count,
            "remote_count": s["snapshots"].remote_count,
            "local_bytes": section_bytes(local, "snapshots"),
            "remote_bytes": section_bytes(remote, "snapshots"),
            "newer_than_local": newer_snapshots(local, remote),
        },
    }
    for key, name in (("_derived", "derived"), ("_auxiliary", "auxiliary")):
        section = s[name]
        report[key] = {
            "changed": section.changed,
            "local_files": section.local_count,
            "remote_files": section.remote_count,
            "local_bytes": section_bytes(local, name),
            "remote_bytes": section_bytes(remote, name),
            "local_only": section.local_only,
            "remote_only": section.remote_only,
            "content_changed": section.content,
        }
    return report


def post_report(diff: DiffResult) -> PostBlock:
    """The re-diff after a transfer: every flag false on success."""
    flags = {name: section.changed for name, section in diff.sections.items()}
    flags["events"] = diff.events_changed
    return {"up_to_date": not diff.changed, "changed": flags}


def build_audit(
    *,
    action: str,
    transfer_state: str,
    dataset: str,
    remote: str,
    opts: SyncOptions,
    local: Manifest | None,
    remote_manifest: Manifest | None,
    diff: DiffResult | None,
    record: AuditRecord | None = None,
) -> dict:
    """SPEC §3's audit: the request, the per-section state before any transfer, then the record."""
    subject = {"dataset": dataset, "remote": remote}
    data = _audit_head(action, transfer_state, subject, opts.verify_block(), diff)
    if diff is not None and local is not None and remote_manifest is not None:
        data["verify"]["primary_effective"] = diff.primary_mode
        data.update(section_report(local, remote_manifest, diff))
        data["warnings"] = list(diff.warnings)
    if record is not None:
        data.update(record.blocks())
    return {"usr_output_version": OUTPUT_VERSION, "data": data}


def build_file_audit(
    *,
    action: str,
    transfer_state: str,
    target: str,
    remote: str,
    remote_path: str | None,
    verify: str,
    local: Manifest | None,
    remote_manifest: Manifest | None,
    diff: DiffResult | None,
    warnings: list[str],
    record: AuditRecord,
) -> dict:
    """File mode's audit: the dataset audit's head and primary block, no sidecar sections.

    `warnings` is always present (the file's own fallbacks, which name the file); the
    record's blocks follow in file mode's order (it post-verifies before it counts what moved).
    """
    subject = {"mode": "file", "target": target, "remote": remote, "remote_path": remote_path}
    data = _audit_head(action, transfer_state, subject, {"primary": verify}, diff)
    if diff is not None:
        data["verify"]["primary_effective"] = diff.primary_mode
        if local is not None and remote_manifest is not None:
            data["primary"] = primary_report(local, remote_manifest, diff)
    data["warnings"] = list(warnings)
    data.update(record.blocks(FILE_BLOCK_ORDER))
    return {"usr_output_version": OUTPUT_VERSION, "data": data}


def _audit_head(
    action: str, transfer_state: str, subject: dict, verify: dict, diff: DiffResult | None
) -> dict:
    """The keys every audit opens with, in their order: what ran, on what, verified how, whether in step."""
    return {
        "action": action,
        "transfer_state": transfer_state,
        **subject,
        "verify": verify,
        "up_to_date": None if diff is None else not diff.changed,
    }


def write_audit(path: Path, audit: dict) -> None:
    """Atomic: a reader never sees half an audit, even when the command fails."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, (json.dumps(audit, indent=2) + "\n").encode())


def human_bytes(count: int) -> str:
    """Decimal units, as the progress and summary lines print them."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} B"


def section_bytes(manifest: Manifest, name: str) -> int:
    """The bytes of a section's regular files on one side."""
    return sum(entry.size for entry in manifest.section(name).values() if entry.kind == "file")


def _mark(changed: bool | None) -> str:
    return "unknown" if changed is None else ("CHANGED" if changed else "up-to-date")


def render_plain(audit: dict) -> str:
    """The block printed after every diff, pull and push.

    A failure's `error` stays in the JSON only: the command prints it once, as the one
    `usr: error[family]: ...` line on stderr.
    """
    d = audit["data"]
    v = d["verify"]
    file_mode = d.get("mode") == "file"
    subject = d["target"] if file_mode else d["dataset"]
    lines = [f"USR sync audit: {d['action']} {subject} <-> {d['remote']}"]
    if file_mode:
        lines.append(f"  Remote path    : {d['remote_path'] or 'not resolved (see the error)'}")
    verify = f"primary={v['primary']}"
    if not file_mode:
        verify += f" sidecars={v['sidecars']} content_hashes={v['content_hashes']}"
    lines += [f"  Transfer state : {d['transfer_state']}", f"  Verify         : {verify}"]
    if "primary" in d:
        lines.append(f"  Primary        : {_mark(d['primary']['changed'])}")
    if ".events.log" in d:
        ev = d[".events.log"]
        snaps = d["_snapshots"]
        lines += [
            f"  meta.md        : {_mark(d['meta']['changed'])}",
            f"  .events.log    : {_mark(ev['changed'])} "
            f"(local {_lines(ev['local'])}, remote {_lines(ev['remote'])})",
            f"  _snapshots     : {_mark(snaps['changed'])} (local {snaps['local_count']}, "
            f"remote {snaps['remote_count']}, newer remote {snaps['newer_than_local']})",
        ]
        for key in ("_derived", "_auxiliary"):
            sec = d[key]
            lines.append(
                f"  {key:<15}: {_mark(sec['changed'])} "
                f"(local {sec['local_files']}, remote {sec['remote_files']}, "
                f"local-only {len(sec['local_only'])}, remote-only {len(sec['remote_only'])}, "
                f"content {len(sec['content_changed'])})"
            )
    if "direction" in d:
        lines.append(f"  Direction      : {advice(d['direction'], d['dataset'], d['remote'])}")
    if d["transfer_state"] == "DRY-RUN" and "plan" in d:
        p = d["plan"]
        lines.append(
            f"  Plan           : copy {len(p['copy'])} file(s), {human_bytes(p['copy_bytes'])}; "
            f"delete {len(p['delete'])}, {human_bytes(p['delete_bytes'])}"
        )
    if "transfer" in d:
        t = d["transfer"]
        lines.append(f"  Moved          : {t['files']} file(s), {t['bytes']} byte(s), deleted {t['deleted']}")
    kept = d.get("kept", {}).get("paths")
    if kept:
        lines.append(f"  Kept           : {len(kept)} {d['kept']['side']} addition(s): {', '.join(kept)}")
    if d.get("forced"):
        lines.append(f"  FORCED         : {', '.join(d['forced'])}")
    if "post" in d:
        lines.append(f"  Post-verify    : {'up-to-date' if d['post']['up_to_date'] else 'MISMATCH'}")
    for warning in d.get("warnings", []):
        lines.append(f"  {warning}")
    return "\n".join(lines)


def _lines(events: dict | None) -> str:
    return "missing" if events is None else f"{events['lines']} lines"
