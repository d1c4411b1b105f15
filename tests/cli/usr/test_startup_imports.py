"""What `usr` loads before it does anything: start-up is most of a no-op sync's time."""

from __future__ import annotations

import subprocess
import sys


def test_the_entry_point_and_the_sync_engine_load_without_pyarrow() -> None:
    """pyarrow costs 0.13 s to import; only a parquet check needs it, and loads it then."""
    probe = "import sys, usr_harness.cli.usr.app, usr_harness.sync.engine; print('pyarrow' in sys.modules)"
    shown = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "False"


def test_rich_progress_loads_only_when_a_bar_is_drawn() -> None:
    """rich.progress costs ~11 ms: a pull off a terminal, a diff or `--quiet` never pay it."""
    probe = "import sys, usr_harness.cli.usr.app; print('rich.progress' in sys.modules)"
    shown = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "False"
