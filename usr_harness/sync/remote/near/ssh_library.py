"""paramiko, loaded without the `invoke` package it imports on the way.

paramiko imports invoke only to run the `Match exec` lines of an ssh_config file that its
`SSHConfig` parses. usr's paramiko client never parses one (the OpenSSH client honours
ssh_config itself), yet loading invoke cost ~30 ms of every paramiko login, measured in the
`usr` process (74 -> 42 ms for paramiko's import). invoke is hidden only while paramiko's own
import runs: afterwards `import invoke` works as usual, and a process that already loaded
paramiko or invoke is left as it is.
"""

from __future__ import annotations

import sys

_hide_invoke = "invoke" not in sys.modules and "paramiko" not in sys.modules
if _hide_invoke:
    sys.modules["invoke"] = None  # type: ignore[assignment]  # `import invoke` raises ImportError
try:
    import paramiko
finally:
    if _hide_invoke and sys.modules.get("invoke", ...) is None:
        del sys.modules["invoke"]

__all__ = ["paramiko"]
