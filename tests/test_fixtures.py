"""The example files in `fixtures/` are real inputs: the engine reads them, and the README shows the same."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from usr_harness.dataset.registry import load_registry
from usr_harness.sync.remote.near.profiles import get_profile

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures"


def _without_comments(text: str) -> str:
    return "".join(line for line in text.splitlines(keepends=True) if not line.startswith("#"))


def test_the_example_remotes_file_loads_and_is_the_readme_block() -> None:
    example = FIXTURES / "remotes.example.yaml"
    profile = get_profile("hpc", example)
    assert (profile.host, profile.user, profile.port) == ("login.cluster.example", "alice", 22)
    assert profile.base_dir == "/project/alice/usr_datasets"
    readme = re.search(r"```yaml\n(remotes:\n.*?)```", (REPO / "README.md").read_text(), re.S)
    assert readme is not None and readme.group(1) == _without_comments(example.read_text())


def test_the_example_registry_loads_as_a_datasets_root_registry(tmp_path: Path) -> None:
    shutil.copyfile(FIXTURES / "registry.example.yaml", tmp_path / "registry.yaml")
    registry = load_registry(tmp_path)
    assert {"densegen", "infer", "usr_state"} <= set(registry.namespaces)
    assert [name for name, _ in registry.namespaces["densegen"].columns] == [
        "densegen__score",
        "densegen__n_sites",
    ]


def test_every_fixtures_folder_is_named_in_the_readme_layout() -> None:
    layout = re.search(r"## Layout\n\n```\n(.*?)```", (REPO / "README.md").read_text(), re.S)
    assert layout is not None
    folders = sorted(path.name for path in FIXTURES.iterdir() if path.is_dir())
    assert {"audits", "adversarial", "peer"} <= set(folders)
    assert [name for name in folders if f"fixtures/{name}/" not in layout.group(1)] == []
