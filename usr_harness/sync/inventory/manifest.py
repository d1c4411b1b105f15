"""The manifest of one side of a sync: pure data built from a scan (local) or an agent reply (remote)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from types import MappingProxyType

from usr_harness.dataset.layout import EVENTS_FILE, RECORDS_FILE
from usr_harness.sync.inventory.scan import as_rows

_EMPTY: Mapping = MappingProxyType({})


@dataclass(frozen=True)
class FileEntry:
    path: str
    section: str
    kind: str
    size: int
    mtime_ns: int = 0
    sha256: str | None = None
    link: str | None = None
    unsafe: str | None = None
    hash_pending: bool = False
    """The agent is still hashing it (a pull's files the laptop never had); see `with_hashes`."""

    @property
    def regular(self) -> bool:
        return self.kind == "file" and self.unsafe is None

    def as_dict(self) -> dict[str, object]:
        data: dict[str, object] = {"path": self.path, "section": self.section, "kind": self.kind}
        data.update({"size": self.size, "sha256": self.sha256})
        if self.link is not None:
            data["link"] = self.link
        return data


@dataclass(frozen=True)
class EventsInfo:
    size: int
    sha256: str
    lines: int
    prefix_len: int | None = None
    prefix_sha256: str | None = None
    prefix_ends_line: bool = True
    base_len: int | None = None
    """The size of the log at the last sync, and the sha256 of this log's first that many bytes."""
    base_sha256: str | None = None
    base_ends_line: bool = True
    first_sha256: str | None = None
    """The sha256 of the log's first line, the dataset's creation event."""

    def as_dict(self) -> dict[str, object]:
        return {"size": self.size, "sha256": self.sha256, "lines": self.lines}


@dataclass(frozen=True)
class Manifest:
    side: str
    exists: bool
    files: dict[str, FileEntry] = field(default_factory=dict)
    events: EventsInfo | None = None
    primary_stats: dict | None = None

    @classmethod
    def from_scan(cls, side: str, scan: dict) -> Manifest:
        """From a scan's dicts, or from the rows of an agent's reply (`scan.ROW_FIELDS`)."""
        rows = scan.get("files", [])
        if not scan.get("row_fields"):
            rows = as_rows(rows)
        files = {row[0]: FileEntry(*row) for row in rows}
        raw = scan.get("events")
        events = None
        if raw:
            events = EventsInfo(
                size=raw["size"],
                sha256=raw["sha256"],
                lines=raw["lines"],
                prefix_len=raw.get("prefix_len"),
                prefix_sha256=raw.get("prefix_sha256"),
                prefix_ends_line=raw.get("prefix_ends_line", True),
                base_len=raw.get("base_len"),
                base_sha256=raw.get("base_sha256"),
                base_ends_line=raw.get("base_ends_line", True),
                first_sha256=raw.get("first_sha256"),
            )
        return cls(side, bool(scan.get("exists")), files, events, scan.get("primary"))

    @property
    def pending_hashes(self) -> list[str]:
        return [path for path, entry in self.files.items() if entry.hash_pending]

    def with_hashes(self, found: dict[str, str]) -> Manifest:
        """This manifest with the pending hashes filled in."""
        files = dict(self.files)
        for path, sha256 in found.items():
            files[path] = replace(files[path], sha256=sha256, hash_pending=False)
        return replace(self, files=files)

    def section(self, name: str) -> Mapping[str, FileEntry]:
        """Read-only, built once per manifest: the diff, the plan and the audit ask for every section
        several times, and the size table once per copied path (quadratic at 20,000 parts)."""
        return self._sections.get(name, _EMPTY)

    @cached_property
    def _sections(self) -> dict[str, Mapping[str, FileEntry]]:
        found: dict[str, dict[str, FileEntry]] = {}
        for path, entry in self.files.items():
            found.setdefault(entry.section, {})[path] = entry
        return {name: MappingProxyType(entries) for name, entries in found.items()}

    @property
    def primary(self) -> FileEntry | None:
        return self.files.get(RECORDS_FILE)

    @property
    def events_entry(self) -> FileEntry | None:
        return self.files.get(EVENTS_FILE)
