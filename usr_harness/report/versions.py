"""The tool versions a report needs to be reproduced, read from the machine and the installed packages.

Its own module so the cycle, the report and the pytest plugin share it without importing each other.
"""

from __future__ import annotations

import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version

PACKAGES = ("usr-harness", "paramiko", "pyarrow", "pytest")


def openssh_version() -> str:
    """`ssh -V` as the client prints it, or "absent" when there is no client to run."""
    try:
        done = subprocess.run(["ssh", "-V"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "absent"
    return (done.stderr or done.stdout).strip()


def tool_versions() -> dict[str, str]:
    """Versions a report needs to be reproduced: read lazily, only for headers and reports."""
    found = {"python": platform.python_version(), "openssh": openssh_version()}
    for package in PACKAGES:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "absent"
    return found
