"""The adapter runs an engine command in a process of its own: a command that hangs is killed and named."""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path

import psutil
import pytest

from usr_harness.engines import EngineHung, make_engine

SLEEPER = (
    f"{shlex.quote(sys.executable)} -c 'import sys, time; print(\"started\", flush=True); time.sleep(60)'"
)


def test_a_command_past_its_bound_is_killed_and_named(tmp_path: Path) -> None:
    engine = make_engine(tmp_path / "root", engine_cmd=SLEEPER, workdir=tmp_path / "w", hang_seconds=1)
    started = time.monotonic()
    running = engine.start("diff", "demo")
    with pytest.raises(EngineHung) as caught:
        running.finish()
    assert time.monotonic() - started < 30
    assert str(caught.value).startswith("the engine's `diff demo` did not finish within 1 s and was killed")
    assert "started" in str(caught.value), "the hung command's own output is kept as evidence"
    assert not psutil.pid_exists(running.pid) or psutil.Process(running.pid).status() == psutil.STATUS_ZOMBIE
    assert not any((tmp_path / "w").iterdir()), "the command's scratch folder is removed"


def test_run_uses_the_engines_bound(tmp_path: Path) -> None:
    engine = make_engine(tmp_path / "root", engine_cmd=SLEEPER, workdir=tmp_path / "w", hang_seconds=1)
    with pytest.raises(EngineHung, match="within 1 s"):
        engine.run("pull", "demo", "-y")


def test_an_engine_crash_in_process_reads_as_its_own_process_would(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug that raises inside the bundled engine is the engine failing (exit 1, traceback), not the
    drill crashing: the same verdict as when the engine runs as a command."""
    import usr_harness.cli.usr.app as app

    def broken(argv: list[str]) -> int:
        raise AttributeError("'NoneType' object has no attribute 'digest'")

    monkeypatch.setattr(app, "main", broken)
    result = make_engine(tmp_path / "root", workdir=tmp_path / "w").run("diff", "demo")
    assert result.exit_code == 1 and not result.ok
    assert "AttributeError: 'NoneType' object has no attribute 'digest'" in result.stderr
