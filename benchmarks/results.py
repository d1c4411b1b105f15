"""The JSON a run leaves under reports/bench/: figures plus what they were measured on.

Numbers from different commits only compare when the machine and tools match, so the
file records versions, core count and load next to the figures.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import paramiko
import pyarrow

from benchmarks.measure import Run
from benchmarks.table import Figure

FORMAT_VERSION = 1
REPO = Path(__file__).resolve().parents[1]


def environment() -> dict[str, object]:
    """Versions, cores and load: what a reader needs to trust (or discount) a comparison."""
    return {
        "python": platform.python_version(),
        "pyarrow": pyarrow.__version__,
        "paramiko": paramiko.__version__,
        "openssh": _first_line(["ssh", "-V"]),
        "rsync": _first_line(["rsync", "--version"]),
        "cpus": os.cpu_count(),
        "load_average": list(os.getloadavg()),
        "git_commit": _first_line(["git", "rev-parse", "HEAD"]),
        "git_dirty": bool(_first_line(["git", "status", "--porcelain"])),
    }


def _first_line(argv: list[str]) -> str:
    """The first line a tool prints (ssh -V prints to stderr), or "" when it cannot run."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=10, cwd=REPO)
    except OSError:
        return ""
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[0] if lines else ""


def command_details(run_sets: dict[str, dict[str, list[Run]]]) -> dict[str, dict[str, list]]:
    """Per `<set>.<tool>.<step>`: seconds, SSH connections and peak bytes of every run, for digging."""
    return {
        f"{name}.{step}": {
            "seconds": [run.seconds for run in runs],
            "connections": [run.connections for run in runs],
            "peak_rss": [run.peak_rss for run in runs],
        }
        for name, steps in run_sets.items()
        for step, runs in steps.items()
    }


def write_results(folder: Path, figures: list[Figure], context: dict[str, object]) -> Path:
    """Write `<folder>/<UTC timestamp>.json` and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    body = {"format_version": FORMAT_VERSION, **context, "figures": [figure.as_dict() for figure in figures]}
    temp = path.with_suffix(".json.tmp")
    temp.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
    os.replace(temp, path)
    return path


def load_figures(path: Path) -> list[Figure]:
    body = json.loads(Path(path).read_text(encoding="utf-8"))
    if body.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{path}: format_version {body.get('format_version')!r}, expected {FORMAT_VERSION}")
    return [Figure.from_dict(item) for item in body["figures"]]
