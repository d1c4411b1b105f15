"""The repository's autouse fixture: each test runs in a temp HOME with its own XDG folders."""

from __future__ import annotations

import os
from pathlib import Path

from usr_harness.sync.modes.file_base import bases_dir


def test_no_engine_variable_and_every_xdg_folder_is_under_the_temp_home() -> None:
    home = Path(os.environ["HOME"])
    assert not [name for name in os.environ if name.startswith("USR_")]
    for name in ("XDG_STATE_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
        assert Path(os.environ[name]).parent == home, name
    assert bases_dir().is_relative_to(home)
