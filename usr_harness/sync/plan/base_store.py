"""The manifest of the last successful sync per (dataset, remote), kept under the datasets root.

It lives outside the dataset folder (`<root>/.usr-sync/<remote>/<dataset>.json`) so
it is never synced and never inventoried.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from usr_harness.dataset.fsio import atomic_write_bytes
from usr_harness.dataset.layout import SYNC_STATE_DIR
from usr_harness.dataset.quoting import quote
from usr_harness.errors import ConfigError

_REMOTE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def base_path(root: Path, dataset: str, remote: str) -> Path:
    if not _REMOTE_NAME.match(remote):
        raise ConfigError(f"remote name {remote!r} has unsafe characters")
    return Path(root) / SYNC_STATE_DIR / remote / f"{dataset}.json"


def load_base(root: Path, dataset: str, remote: str) -> dict[str, dict] | None:
    path = base_path(root, dataset, remote)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except ValueError as error:
        raise ConfigError(
            f"sync base {quote(path)} is unreadable ({error}); delete it to start over"
        ) from None
    return data["files"]


def save_base(root: Path, dataset: str, remote: str, files: dict[str, dict]) -> Path:
    path = base_path(root, dataset, remote)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"version": 1, "dataset": dataset, "remote": remote, "files": files}
    atomic_write_bytes(path, json.dumps(body, sort_keys=True).encode())
    return path
