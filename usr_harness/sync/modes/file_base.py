"""The last-synced state of each file-mode target, per (local absolute path, remote), for "nothing lost".

A file has no datasets root to keep it under, so it lives in the user's state
folder ($XDG_STATE_HOME/usr-harness/file-bases, default ~/.local/state/...),
never beside the file, so it is never synced or committed by accident.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path

from usr_harness.dataset.fsio import atomic_write_bytes
from usr_harness.errors import ConfigError


def bases_dir(env: Mapping[str, str] = os.environ) -> Path:
    state = env.get("XDG_STATE_HOME", "")
    home = Path(state) if os.path.isabs(state) else Path("~/.local/state").expanduser()
    return home / "usr-harness" / "file-bases"


def base_path(local: Path, remote: str) -> Path:
    key = hashlib.sha256(f"{remote}\n{local}".encode()).hexdigest()[:32]
    return bases_dir() / f"{key}.json"


def load_file_base(local: Path, remote: str, remote_path: str) -> dict | None:
    """{sha256, size} both sides held after the last sync of this pair, None when never synced there."""
    path = base_path(local, remote)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except ValueError as error:
        raise ConfigError(f"file sync base {path} is unreadable ({error}); delete it to start over") from None
    if data.get("local") != str(local) or data.get("remote_path") != remote_path:
        return None
    return {"sha256": data.get("sha256"), "size": data.get("size")}


def save_file_base(local: Path, remote: str, remote_path: str, sha256: str | None, size: int) -> Path:
    path = base_path(local, remote)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"version": 1, "local": str(local), "remote": remote, "remote_path": remote_path}
    record.update({"sha256": sha256, "size": size})
    atomic_write_bytes(path, json.dumps(record, sort_keys=True).encode())
    return path
