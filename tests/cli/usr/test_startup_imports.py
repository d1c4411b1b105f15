"""What `usr` loads before it does anything: start-up is most of a no-op sync's time."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version


def printed(program: str, *args: str) -> str:
    """What a fresh interpreter running `program` prints (its imports are what is measured)."""
    done = subprocess.run([sys.executable, "-c", program, *args], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_the_entry_point_and_the_sync_engine_load_without_pyarrow() -> None:
    """pyarrow costs 0.13 s to import; only a parquet check needs it, and loads it then."""
    probe = "import sys, usr_harness.cli.usr.app, usr_harness.sync.engine; print('pyarrow' in sys.modules)"
    assert printed(probe) == "False"


def test_rich_loads_only_when_a_table_or_a_bar_is_drawn() -> None:
    """rich's console ~20 ms, rich.progress ~11 ms more: a sync off a terminal, a diff or `--quiet`
    never pay them."""
    probe = "import sys, usr_harness.cli.usr.app; print(any(m.split('.')[0] == 'rich' for m in sys.modules))"
    assert printed(probe) == "False"


def test_paramiko_loads_only_when_a_paramiko_session_opens() -> None:
    """paramiko costs ~65 ms: `--help`, `client: openssh` and `client: local` never pay it."""
    probe = (
        "import sys, usr_harness.cli.usr.app, usr_harness.sync.engine, usr_harness.sync.remote.near.pending;"
        "print('paramiko' in sys.modules)"
    )
    assert printed(probe) == "False"


def test_version_answers_before_typer_and_agrees_with_the_package_metadata() -> None:
    probe = (
        "import sys; from usr_harness.cli.usr.entry import main; code = main(['--version']);"
        "print(code, sorted(m for m in ('typer', 'rich', 'usr_harness.cli.usr.app') if m in sys.modules))"
    )
    assert printed(probe).splitlines() == [f"usr {version('usr-harness')}", "0 []"]
    module = subprocess.run(
        [sys.executable, "-m", "usr_harness.cli.usr", "--version"], capture_output=True, text=True
    )
    assert (module.returncode, module.stdout) == (0, f"usr {version('usr-harness')}\n")


def test_the_engine_loads_after_the_login_has_started() -> None:
    """`usr pull` starts the login first (`sync/early_login.py`); the engine then loads while it runs."""
    probe = "import sys, usr_harness.cli.usr.app; print('usr_harness.sync.engine' in sys.modules)"
    assert printed(probe) == "False"


NUMPY_FREE_CHECKS = """
import sys
from pathlib import Path
from usr_harness.cli.usr.entry import hide_numpy
hide_numpy()
import pyarrow as pa
import pyarrow.parquet as pq
from usr_harness.dataset.parquet_io import verify_parquet
from usr_harness.sync.move.arriving_parquet import ArrivingParquet
import usr_harness.dataset.validation
path = Path(sys.argv[1])
pq.write_table(pa.table({"id": ["a", "b", "c"], "n": [1, 2, 3]}), path, write_page_checksum=True)
data = path.read_bytes()
arriving = ArrivingParquet(path, data[-(int.from_bytes(data[-8:-4], "little") + 8):])
for decode in arriving.ready(len(data)):
    decode()
arriving.finish()
print(verify_parquet(path), sys.modules.get("numpy", "absent"))
"""


def test_the_usr_process_loads_pyarrow_and_checks_parquet_without_numpy(tmp_path) -> None:
    """numpy was 43 of pyarrow's 85 ms import; nothing usr runs in its own process needs it."""
    assert printed(NUMPY_FREE_CHECKS, str(tmp_path / "t.parquet")) == "(3, 2) None"


def test_numpy_stays_hidden_from_a_usr_process_but_not_from_a_caller_that_has_it() -> None:
    probe = (
        "import sys; import numpy; from usr_harness.cli.usr.entry import hide_numpy; hide_numpy();"
        "import pyarrow; print(pyarrow.array([1, 2]).to_numpy().sum())"
    )
    assert printed(probe) == "3"
