"""README's "first 10 minutes" block runs as written: each line in turn, in one scratch folder."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
HEADING = "## The first 10 minutes"


def first_minutes_lines() -> list[str]:
    """The command lines of the first fenced block under the heading."""
    text = README.read_text(encoding="utf-8").split(HEADING, 1)[1]
    block = re.search(r"```bash\n(.*?)```", text, re.DOTALL)
    assert block, f"no bash block under {HEADING!r} in README.md"
    return [line for line in block.group(1).splitlines() if line.strip()]


def expected_exit(line: str) -> int:
    """`# exit N` at the end of a line says the command fails on purpose with N."""
    found = re.search(r"# exit (\d+)\s*$", line)
    return int(found.group(1)) if found else 0


def test_first_minutes_come_before_the_harness_and_after_the_first_commands() -> None:
    text = README.read_text(encoding="utf-8")
    assert text.splitlines()[3].startswith("./scripts/main.sh") and text.splitlines()[4].startswith(
        "./scripts/test.sh"
    )
    assert text.index("./scripts/test.sh") < text.index(HEADING) < text.index("## The harness")


def test_every_first_minutes_line_runs_as_written(tmp_path: Path) -> None:
    lines = first_minutes_lines()
    assert any(line.startswith("usr-harness corrupt apply") for line in lines)
    assert lines[-1] == "usr-harness host down --dir host"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("USR_REMOTES_PATH", None)
    env.pop("USR_ROOT", None)
    outputs = []
    try:
        for line in lines:
            done = subprocess.run(
                ["bash", "-c", line], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
            )
            outputs.append(done.stdout + done.stderr)
            assert done.returncode == expected_exit(line), f"{line}\n{done.stdout}\n{done.stderr}"
    finally:
        subprocess.run(
            ["bash", "-c", "usr-harness host down --dir host"], cwd=tmp_path, env=env, capture_output=True
        )
    by_line = dict(zip(lines, outputs, strict=True))

    def output_of(words: str) -> str:
        return next(out for line, out in by_line.items() if words in line.split("#")[0])

    assert "only remote hpc has demo: run `usr pull demo hpc`" in outputs[2]
    assert "error[verify]" in output_of("validate demo --strict")
    assert "error[sidecars]" in outputs[6] and "not propagated" in outputs[6]
    cycle = output_of("usr-harness cycle").splitlines()
    assert cycle[-2].startswith("cycle passed; report folder reports/")
    assert cycle[-1].startswith("passed: 1 drills: 1 pass, 0 fail, 0 unsupported, 0 unknown")
    report = output_of("usr-harness report show")
    assert report.startswith("passed: 1 drills: 1 pass, 0 fail, 0 unsupported, 0 unknown")
