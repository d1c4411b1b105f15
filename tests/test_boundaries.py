"""The harness reaches the engine only through the public front of `usr_harness.sync.remote` and
the hook point `usr_harness.sync.hooks`; the engine and the dataset layer never reach the harness.

Read from the source, not from imports at run time: a lazy import inside a function counts too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import usr_harness
from usr_harness.sync import remote

PACKAGE = Path(usr_harness.__file__).parent
ROOT = PACKAGE.parent
HARNESS = [
    "hosts",
    "corrupt",
    "faults",
    "report",
    "engines",
    "cycle",
    "mock",
    "adversarial",
    "pytest_plugin.py",
]
FRONT = "usr_harness.sync.remote"
HOOKS = "usr_harness.sync.hooks"
OUTSIDE_THE_ENGINE = (
    "faults",
    "hosts",
    "corrupt",
    "report",
    "cycle",
    "engines",
    "mock",
    "adversarial",
    "pytest_plugin",
    "cli",
)


def imported_modules(path: Path) -> list[tuple[int, str, list[str]]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.lineno, node.module, [alias.name for alias in node.names]))
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name, []) for alias in node.names)
    return found


def harness_files() -> list[Path]:
    files = []
    for name in HARNESS:
        place = PACKAGE / name
        files.extend([place] if place.is_file() else sorted(place.rglob("*.py")))
    files.extend(sorted((PACKAGE / "cli").glob("harness_*.py")))
    return files


@pytest.mark.parametrize("path", harness_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_harness_modules_use_only_the_remote_front_of_the_engine(path: Path) -> None:
    for line, module, names in imported_modules(path):
        if module.startswith("usr_harness.sync") and module != HOOKS:
            assert module == FRONT, f"{path.name}:{line} imports {module}; use {FRONT} or {HOOKS}"
            assert set(names) <= set(remote.__all__), f"{path.name}:{line} imports {names} beyond the front"


def engine_files() -> list[Path]:
    return [*sorted((PACKAGE / "sync").rglob("*.py")), *sorted((PACKAGE / "dataset").rglob("*.py"))]


@pytest.mark.parametrize("path", engine_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_engine_and_the_dataset_layer_never_import_the_harness(path: Path) -> None:
    for line, module, names in imported_modules(path):
        targets = [module] if module != "usr_harness" else [f"usr_harness.{name}" for name in names]
        for target in targets:
            top = target.split(".")[1] if target.startswith("usr_harness.") else None
            assert top not in OUTSIDE_THE_ENGINE, f"{path.name}:{line} imports {target}"


@pytest.mark.parametrize("path", sorted((ROOT / "drills").glob("*.py")), ids=lambda p: p.name)
def test_drills_never_import_the_engine(path: Path) -> None:
    for line, module, _ in imported_modules(path):
        assert not module.startswith("usr_harness.sync"), f"{path.name}:{line} imports {module}"


def test_the_front_names_resolve_and_unknown_names_raise() -> None:
    for name in remote.__all__:
        assert getattr(remote, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'agent_internals'"):
        remote.agent_internals  # noqa: B018 - the attribute access is the test
