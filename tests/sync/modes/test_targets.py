"""TARGET resolution (dataset id, dataset folder, file) and file-mode remote paths: pure, no network."""

from __future__ import annotations

from pathlib import Path

import pytest

from usr_harness.errors import UsageError
from usr_harness.sync.modes.targets import (
    DatasetTarget,
    FileTarget,
    file_remote_path,
    refuse_dataset_flags,
    refuse_file_flags,
    resolve_target,
)


def dataset_folder(root: Path, dataset: str, *, registry: bool = True) -> Path:
    folder = root / dataset
    folder.mkdir(parents=True)
    (folder / "records.parquet").write_bytes(b"PAR1")
    if registry:
        (root / "registry.yaml").write_text("namespaces: {}\n")
    return folder


def resolve(target: str, root: Path, cwd: Path, *, explicit: bool = True):
    return resolve_target(target, root=root, explicit_root=explicit, cwd=cwd)


def test_bare_id_is_dataset_id_mode_as_before(tmp_path: Path):
    root = tmp_path / "root"
    dataset_folder(root, "ns/demo")
    assert resolve("ns/demo", root, tmp_path) == DatasetTarget(root, "ns/demo", "id")
    assert resolve("fresh", root, tmp_path) == DatasetTarget(root, "fresh", "id")


def test_root_holding_the_id_wins_over_a_same_named_local_folder(tmp_path: Path):
    root, cwd = tmp_path / "root", tmp_path / "cwd"
    dataset_folder(root, "demo")
    dataset_folder(cwd, "demo")
    assert resolve("demo", root, cwd).root == root


def test_folder_inside_explicit_root(tmp_path: Path):
    root = tmp_path / "root"
    folder = dataset_folder(root, "ns/demo", registry=False)
    assert resolve(str(folder), root, tmp_path) == DatasetTarget(root.resolve(), "ns/demo", "directory")


def test_folder_outside_root_uses_nearest_registry(tmp_path: Path):
    other = tmp_path / "repo" / "datasets"
    folder = dataset_folder(other, "ns/demo")
    expected = DatasetTarget(other.resolve(), "ns/demo", "directory")
    assert resolve(str(folder), tmp_path / "root", tmp_path) == expected
    assert resolve("./repo/datasets/ns/demo", tmp_path, tmp_path, explicit=False) == expected


def test_implicit_root_is_not_used_for_folders(tmp_path: Path):
    """`usr push ./datasets/demo` from a repo checkout means dataset `demo`, not `datasets/demo`."""
    folder = dataset_folder(tmp_path / "datasets", "demo")
    target = resolve(f"./{folder.relative_to(tmp_path)}", tmp_path, tmp_path, explicit=False)
    assert target == DatasetTarget((tmp_path / "datasets").resolve(), "demo", "directory")


def test_folder_outside_any_root_without_registry_is_usage_error(tmp_path: Path):
    folder = dataset_folder(tmp_path / "scratch", "demo", registry=False)
    with pytest.raises(UsageError, match=r"pass --root DIR .* or use the dataset id"):
        resolve(str(folder), tmp_path / "root", tmp_path)


def test_folder_without_records_and_too_deep_ids_are_usage_errors(tmp_path: Path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match=r"holds no records\.parquet"):
        resolve(str(tmp_path / "empty"), tmp_path, tmp_path)
    deep = dataset_folder(tmp_path / "root", "a/b/c")
    with pytest.raises(UsageError, match="more than one namespace deep"):
        resolve(str(deep), tmp_path / "root", tmp_path)


def test_parquet_paths_and_existing_files_are_file_mode(tmp_path: Path):
    (tmp_path / "notes.csv").write_text("x\n")
    assert resolve("out/new.parquet", tmp_path, tmp_path) == FileTarget(tmp_path / "out" / "new.parquet")
    assert resolve("notes.csv", tmp_path / "root", tmp_path) == FileTarget(tmp_path / "notes.csv")
    assert resolve(str(tmp_path / "a" / ".." / "b.parquet"), tmp_path, tmp_path) == FileTarget(
        tmp_path / "b.parquet"
    )


def test_relative_file_paths_are_taken_under_the_repo_root(tmp_path: Path):
    repo, cwd = tmp_path / "repo", tmp_path / "cwd"
    found = resolve_target("out/a.parquet", root=tmp_path, explicit_root=False, cwd=cwd, repo_root=repo)
    assert found == FileTarget(repo / "out" / "a.parquet")
    absolute = resolve_target(
        str(cwd / "b.parquet"), root=tmp_path, explicit_root=False, cwd=cwd, repo_root=repo
    )
    assert absolute == FileTarget(cwd / "b.parquet")
    relative_root = resolve_target(
        "a.parquet", root=tmp_path, explicit_root=False, cwd=cwd, repo_root=Path("r")
    )
    assert relative_root == FileTarget(cwd / "r" / "a.parquet")


def test_unknown_target_is_usage_error(tmp_path: Path):
    with pytest.raises(UsageError, match="not a dataset id, a dataset folder or a file"):
        resolve("../nowhere", tmp_path, tmp_path)


def remote_path(local: Path, **kwargs) -> str:
    settings = {
        "remote_path": None,
        "repo_root": None,
        "profile_repo_root": None,
        "profile_local_repo_root": None,
        "env": {},
        "remote": "hpc",
    }
    settings.update(kwargs)
    return file_remote_path(local, **settings)


def test_remote_path_flag_wins_and_must_be_absolute(tmp_path: Path):
    local = tmp_path / "x.parquet"
    assert (
        remote_path(local, remote_path="/scratch/x.parquet", profile_repo_root="/r") == "/scratch/x.parquet"
    )
    assert remote_path(local, remote_path="~/x.parquet") == "~/x.parquet"
    for bad in ("rel/x.parquet", "/a/../x.parquet", "/a/", "//a/x"):
        with pytest.raises(UsageError, match="absolute and normalised"):
            remote_path(local, remote_path=bad)


def test_repo_root_mapping_order(tmp_path: Path):
    repo = tmp_path / "repo"
    local = repo / "src" / "out" / "x.parquet"
    other = tmp_path / "elsewhere"
    flag = remote_path(
        local, repo_root=repo, profile_repo_root="/hpc/repo", profile_local_repo_root=str(other)
    )
    assert flag == "/hpc/repo/src/out/x.parquet"
    profile = remote_path(local, profile_repo_root="/hpc/repo/", profile_local_repo_root=str(repo))
    assert profile == "/hpc/repo/src/out/x.parquet"
    env = remote_path(local, profile_repo_root="~/repo", env={"DNADESIGN_REPO_ROOT": str(repo)})
    assert env == "~/repo/src/out/x.parquet"


def test_missing_mapping_and_outside_repo_are_usage_errors(tmp_path: Path):
    local = tmp_path / "x.parquet"
    with pytest.raises(UsageError, match="--remote-path"):
        remote_path(local, profile_repo_root="/hpc/repo")
    with pytest.raises(UsageError, match="repo_root in remote 'hpc'"):
        remote_path(local, repo_root=tmp_path)
    with pytest.raises(UsageError, match="not inside the local repo root"):
        remote_path(local, repo_root=tmp_path / "repo", profile_repo_root="/hpc/repo")


def test_mode_specific_flags_are_refused(tmp_path: Path):
    refuse_dataset_flags([], tmp_path / "x.parquet")
    with pytest.raises(UsageError, match=r"--primary-only, --no-verify-sidecars: dataset-only"):
        refuse_dataset_flags(["--primary-only", "--no-verify-sidecars"], tmp_path / "x.parquet")
    with pytest.raises(UsageError, match="--remote-path: file-mode flag"):
        refuse_file_flags(["--remote-path"], DatasetTarget(tmp_path, "demo", "id"))
