"""What a `usr diff | pull | push` command was asked: the fields both target modes share, and their own.

The shared fields are keyword-only, so each mode's own required fields can come
first without defaults of their own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from usr_harness.sync.options import SyncOptions
from usr_harness.sync.progress import SILENT, Observer


@dataclass(kw_only=True)
class Request:
    remote: str
    remotes_config: Path | None
    opts: SyncOptions = field(default_factory=SyncOptions)
    audit_json_out: Path | None = None
    confirm: Callable[[str], bool] | None = None
    echo: Callable[[str], None] = print
    progress: Observer = SILENT


@dataclass
class SyncRequest(Request):
    """A dataset under a USR root."""

    root: Path
    dataset: str


@dataclass
class FileRequest(Request):
    """One file, mapped to its remote path by `remote_path` or the repo root."""

    local: Path
    remote_path: str | None = None
    repo_root: Path | None = None
