"""What `usr` loads before it does anything: start-up is most of a no-op sync's time."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version


def test_the_entry_point_and_the_sync_engine_load_without_pyarrow() -> None:
    """pyarrow costs 0.13 s to import; only a parquet check needs it, and loads it then."""
    probe = "import sys, usr_harness.cli.usr.app, usr_harness.sync.engine; print('pyarrow' in sys.modules)"
    shown = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "False"


def test_rich_loads_only_when_a_table_or_a_bar_is_drawn() -> None:
    """rich's console ~20 ms, rich.progress ~11 ms more: a sync off a terminal, a diff or `--quiet`
    never pay them."""
    probe = "import sys, usr_harness.cli.usr.app; print(any(m.split('.')[0] == 'rich' for m in sys.modules))"
    shown = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "False"


def test_paramiko_loads_only_when_a_paramiko_session_opens() -> None:
    """paramiko costs ~65 ms: `--help`, `client: openssh` and `client: local` never pay it."""
    probe = (
        "import sys, usr_harness.cli.usr.app, usr_harness.sync.engine, usr_harness.sync.remote.near.pending;"
        "print('paramiko' in sys.modules)"
    )
    shown = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "False"


def test_version_answers_before_typer_and_agrees_with_the_package_metadata() -> None:
    probe = (
        "import sys; from usr_harness.cli.usr.entry import main; code = main(['--version']);"
        "print(code, sorted(m for m in ('typer', 'rich', 'usr_harness.cli.usr.app') if m in sys.modules))"
    )
    shown = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert shown.stdout.splitlines() == [f"usr {version('usr-harness')}", "0 []"]
    module = subprocess.run(
        [sys.executable, "-m", "usr_harness.cli.usr", "--version"], capture_output=True, text=True
    )
    assert (module.returncode, module.stdout) == (0, f"usr {version('usr-harness')}\n")


def test_the_engine_loads_after_the_login_has_started() -> None:
    """`usr pull` starts the login first (`sync/early_login.py`); the engine then loads while it runs."""
    probe = "import sys, usr_harness.cli.usr.app; print('usr_harness.sync.engine' in sys.modules)"
    shown = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "False"
