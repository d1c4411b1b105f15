"""paramiko loads without invoke for the engine's login, and invoke stays importable afterwards."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
from usr_harness.sync.remote.near import session
loaded_with_paramiko = "invoke" in sys.modules
import invoke
print(loaded_with_paramiko, session.paramiko.config.invoke is None, invoke.__name__)
"""


def test_the_login_module_loads_paramiko_without_invoke_and_leaves_invoke_importable() -> None:
    shown = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    assert shown.stdout.split() == ["False", "True", "invoke"]


def test_a_process_that_already_loaded_invoke_keeps_it_for_paramiko() -> None:
    probe = "import invoke\nfrom usr_harness.sync.remote.near import session\n"
    probe += "print(session.paramiko.config.invoke is invoke)"
    shown = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert shown.stdout.split() == ["True"]
