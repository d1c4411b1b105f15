"""A program's command groups, state and progress never import its app: no import loop.

Read from the source, so a lazy import inside a function counts too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import usr_harness.cli

CLI = Path(usr_harness.cli.__file__).parent
PROGRAMS = ("usr", "harness")
ENTRY_MODULES = {"app.py", "__main__.py", "__init__.py", "entry.py"}
"""`entry.py` is `usr`'s console script: it answers `--version` itself and hands the rest to the app."""


def program_modules() -> list[Path]:
    return [
        path
        for program in PROGRAMS
        for path in sorted((CLI / program).glob("*.py"))
        if path.name not in ENTRY_MODULES
    ]


def imported_names(path: Path) -> list[tuple[int, str]]:
    """Every module an import statement names, `from X import Y` counted as both X and X.Y."""
    program = f"usr_harness.cli.{path.parent.name}"
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            relative = f"{program}.{node.module}" if node.module else program
            base = relative if node.level else (node.module or "")
            found.append((node.lineno, base))
            found.extend((node.lineno, f"{base}.{alias.name}") for alias in node.names)
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
    return found


def test_both_programs_have_command_groups() -> None:
    assert {path.parent.name for path in program_modules()} == set(PROGRAMS)


@pytest.mark.parametrize("path", program_modules(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_module_but_the_entry_points_imports_the_app(path: Path) -> None:
    apps = {f"usr_harness.cli.{program}.app" for program in PROGRAMS}
    for line, module in imported_names(path):
        assert module not in apps, f"{path.parent.name}/{path.name}:{line} imports {module}"
