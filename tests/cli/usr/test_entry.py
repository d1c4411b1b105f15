"""How a `usr` process ends: the command's exit status and every byte of its output, without the
interpreter's teardown."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ENDING = """
import atexit, sys, threading, time
from pathlib import Path
from usr_harness.cli.usr.entry import end_process

def late_writer():
    time.sleep(0.3)
    Path(sys.argv[1]).write_text("written")

threading.Thread(target=late_writer).start()
atexit.register(lambda: print("atexit ran", file=sys.stderr))
sys.stdout.write("x" * 4000)  # stays in the buffer: only a flush sends it
end_process(int(sys.argv[2]))
"""


def test_an_ending_process_keeps_its_code_output_threads_and_exit_handlers(
    tmp_path: Path,
) -> None:
    argv = [sys.executable, "-c", ENDING, str(tmp_path / "late"), "3"]
    ended = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert ended.returncode == 3
    assert ended.stdout == "x" * 4000
    assert (tmp_path / "late").read_text() == "written"  # a running non-daemon thread finished first
    assert ended.stderr == "atexit ran\n"


BROKEN_STDOUT = """
import io, sys
from usr_harness.cli.usr.entry import end_process

class Gone(io.RawIOBase):
    def writable(self):
        return True

    def write(self, data):
        raise BrokenPipeError(32, "Broken pipe")

sys.stdout = io.TextIOWrapper(io.BufferedWriter(Gone()))
sys.stdout.write("x")  # waits in the buffer: the flush at the end meets the broken pipe
"""


def test_output_that_cannot_be_flushed_exits_120_as_python_does() -> None:
    for ending in ("", "end_process(0)"):
        program = BROKEN_STDOUT + ending
        ended = subprocess.run([sys.executable, "-c", program], capture_output=True, timeout=60)
        assert ended.returncode == 120, (ending or "python's own exit", ended.stderr)


def test_the_usr_process_ends_with_its_commands_code_and_words(tmp_path: Path) -> None:
    usage = subprocess.run(
        [sys.executable, "-m", "usr_harness.cli.usr", "--root", str(tmp_path), "pull"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert usage.returncode == 2 and usage.stderr.startswith("usr: error[usage]: ")
    shown = subprocess.run(
        [sys.executable, "-m", "usr_harness.cli.usr", "--help"], capture_output=True, text=True, timeout=60
    )
    assert shown.returncode == 0 and "diff" in shown.stdout and shown.stdout.endswith("\n")
