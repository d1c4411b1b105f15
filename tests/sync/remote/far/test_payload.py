"""The shipped payload: the far-side modules `near/bundle.py` joins into one stdlib-only program.

The remotes need python >= 3.8 (README, `near/client.py`'s hint): the payload must parse as 3.8,
import nothing outside the standard library (pyarrow is optional and imported inside a guard), and
serve a real round trip on a 3.8 interpreter when one is installed here.
"""

from __future__ import annotations

import ast
import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.sync.remote.agent_checks import assert_agent_round_trip, local_profile
from usr_harness.sync.remote.near.bundle import agent_source
from usr_harness.sync.remote.near.connect import connect_agent

OLDEST = (3, 8)
OPTIONAL = {"pyarrow"}


def test_the_payload_parses_as_the_oldest_python_the_remotes_allow() -> None:
    ast.parse(agent_source(), feature_version=OLDEST)


def _runtime_nodes(tree: ast.AST):
    """Every node except those under `if TYPE_CHECKING:` (never run; the bundle keeps them as text)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            continue
        yield node
        yield from _runtime_nodes(node)


def test_the_payload_imports_only_the_standard_library() -> None:
    imported = set()
    for node in _runtime_nodes(ast.parse(agent_source())):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level:
            imported.add(node.module.split(".")[0])
    assert imported - set(sys.stdlib_module_names) - {"__future__"} <= OPTIONAL


def _oldest_python() -> str | None:
    """python3.8 from PATH or a pyenv install (found at collection, before the tests' HOME is swapped)."""
    name = "python{}.{}".format(*OLDEST)
    roots = {os.environ.get("PYENV_ROOT", ""), os.path.expanduser("~/.pyenv")} - {""}
    found = [path for root in sorted(roots) for path in sorted(glob.glob(f"{root}/versions/*/bin/{name}"))]
    for candidate in [shutil.which(name), *found]:
        probe = f"import sys; assert sys.version_info[:2] == {OLDEST}"
        if candidate and subprocess.run([candidate, "-c", probe], capture_output=True).returncode == 0:
            return candidate
    return None


OLDEST_PYTHON = _oldest_python()


def test_the_payload_serves_a_round_trip_on_the_oldest_python(tmp_path: Path) -> None:
    python = OLDEST_PYTHON
    if python is None:
        pytest.skip("no python{}.{} installed on this machine; only the parse check ran".format(*OLDEST))
    with connect_agent(local_profile(tmp_path, python)) as agent:
        assert agent.hello["python"].startswith("{}.{}.".format(*OLDEST))
    assert_agent_round_trip(local_profile(tmp_path, python), tmp_path)
