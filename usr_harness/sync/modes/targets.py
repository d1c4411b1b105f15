"""What `usr diff|pull|push TARGET REMOTE` names: a dataset id, a dataset folder, or one file.

Pure resolution (it looks at the local filesystem, never at the network), so every
ambiguity is a usage error before any connection. A bare dataset id keeps its
meaning whenever the root holds it, so existing commands never change target.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from usr_harness.dataset.layout import RECORDS_FILE, REGISTRY_FILE, check_dataset_id
from usr_harness.dataset.quoting import quote
from usr_harness.errors import UsageError

REPO_ROOT_ENV = "DNADESIGN_REPO_ROOT"


@dataclass(frozen=True)
class DatasetTarget:
    """A dataset under a datasets root; `mode` is "id" or "directory"."""

    root: Path
    dataset: str
    mode: str


@dataclass(frozen=True)
class FileTarget:
    """One local file, absolute and normalised (a symlink at the path itself is not resolved)."""

    path: Path


def _id_problem(text: str) -> str | None:
    """Why `text` is not a dataset id, or None when it is one."""
    try:
        check_dataset_id(text)
    except ValueError as error:
        return str(error)
    return None


def _not_a_target(target: str, why: str) -> UsageError:
    problem = _id_problem(target)
    also = f"; as a dataset id: {problem}" if problem else ""
    return UsageError(f"TARGET {quote(target, 80)} {why}{also}")


def resolve_target(
    target: str, *, root: Path, explicit_root: bool, cwd: Path, repo_root: Path | None = None
) -> DatasetTarget | FileTarget:
    """Dataset id first (when the root holds it, or nothing local is called that), then file, then folder.

    A relative path is taken under `repo_root` (`--repo-root`) when one is given, as
    the file it names is then a repo-relative path, else under the current folder. A
    TARGET the filesystem cannot even look up (a name past NAME_MAX, say) is a usage error.
    """
    base = cwd if repo_root is None else cwd / Path(repo_root).expanduser()
    try:
        return _resolve(target, root=root, explicit_root=explicit_root, base=base)
    except OSError as error:
        raise _not_a_target(target, f"cannot be looked up ({error.strerror})") from None


def _resolve(target: str, *, root: Path, explicit_root: bool, base: Path) -> DatasetTarget | FileTarget:
    local = Path(os.path.normpath(base / Path(target).expanduser()))
    is_parquet = target.endswith(".parquet")
    is_id = _id_problem(target) is None
    if is_id and not is_parquet and ((root / target).is_dir() or not os.path.lexists(local)):
        return DatasetTarget(root, target, "id")
    if is_parquet or (os.path.lexists(local) and not local.is_dir()):
        return FileTarget(local)
    if local.is_dir():
        return _dataset_folder(local, root if explicit_root else None)
    raise _not_a_target(target, "is not a dataset id, a dataset folder or a file")


def _dataset_folder(folder: Path, root: Path | None) -> DatasetTarget:
    """The folder's datasets root: --root when it holds the folder, else the nearest registry.yaml."""
    if not (folder / RECORDS_FILE).is_file():
        raise UsageError(
            f"{quote(folder)} holds no {RECORDS_FILE}; it is not a dataset folder", paths=[str(folder)]
        )
    real = Path(os.path.realpath(folder))
    found = Path(os.path.realpath(root)) if root is not None else None
    if found is None or found not in real.parents:
        found = next((p for p in real.parents if (p / REGISTRY_FILE).is_file()), None)
    if found is None:
        raise UsageError(
            f"{quote(folder)} is not inside --root and no parent folder holds {REGISTRY_FILE}: "
            "pass --root DIR (the datasets root) or use the dataset id",
            paths=[str(folder)],
        )
    dataset = real.relative_to(found).as_posix()
    try:
        check_dataset_id(dataset)
    except ValueError as error:
        raise UsageError(f"{quote(folder)} under root {quote(found)}: {error}", paths=[str(folder)]) from None
    return DatasetTarget(found, dataset, "directory")


def file_remote_path(
    local: Path,
    *,
    remote_path: str | None,
    repo_root: Path | None,
    profile_repo_root: str | None,
    profile_local_repo_root: str | None,
    env: Mapping[str, str],
    remote: str,
) -> str:
    """`--remote-path`, else the profile's repo_root joined with TARGET's path inside the local repo."""
    if remote_path is not None:
        return _checked_remote(remote_path, "--remote-path")
    local_root = repo_root or profile_local_repo_root or env.get(REPO_ROOT_ENV) or None
    if not profile_repo_root or local_root is None:
        raise UsageError(
            f"file mode needs the remote path of {quote(local)}: pass --remote-path, or set repo_root in "
            f"remote {remote!r} and the local repo root (--repo-root, the profile's local_repo_root, "
            f"or ${REPO_ROOT_ENV})"
        )
    base = Path(os.path.realpath(Path(local_root).expanduser()))
    here = Path(os.path.realpath(local.parent)) / local.name
    if base not in here.parents:
        raise UsageError(
            f"{quote(local)} is not inside the local repo root {quote(base)}", paths=[str(local)]
        )
    joined = posixpath.normpath(posixpath.join(profile_repo_root, here.relative_to(base).as_posix()))
    return _checked_remote(joined, f"repo_root of remote {remote!r}")


def _checked_remote(path: str, origin: str) -> str:
    absolute = path.startswith(("/", "~/")) and not path.startswith("//")
    if not absolute or posixpath.normpath(path) != path or any(c in path for c in "\x00\n\r"):
        raise UsageError(f"remote file path {quote(path)} (from {origin}) must be absolute and normalised")
    return path


def refuse_dataset_flags(given: list[str], local: Path) -> None:
    """Sidecar, content-hash, --primary-only and --skip-snapshots mean nothing for a single file."""
    if given:
        raise UsageError(f"{', '.join(given)}: dataset-only flag(s); {quote(local)} is synced in file mode")


def refuse_file_flags(given: list[str], target: DatasetTarget) -> None:
    """--remote-path and --repo-root only place a single file."""
    if given:
        raise UsageError(f"{', '.join(given)}: file-mode flag(s); {target.dataset} is a dataset")
