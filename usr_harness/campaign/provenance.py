"""pytest plugin (`-p usr_harness.campaign.provenance`): a shard's record, `shard.json`, in its run folder.

`report merge` reads it to say where each shard ran (host, run folder, selection,
pytest-split group) and which drills the shard was given, so a drill a shard never
finished is named missing rather than silently absent. Written once the shard knows
its drills and again when it ends, so a shard that dies mid-way still says what it had.
Import-light: it loads in every shard's pytest process. Under pytest-xdist the controller
collects nothing itself, so `assigned` is empty there and only `finished` counts.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import sys
from pathlib import Path
from typing import Any

import pytest

from usr_harness.pytest_plugin import DRILL_PROPERTY, drill_seed_of, remote_options_of

SHARD_FILE = "shard.json"
SPLIT_OPTIONS = ("--splits", "--group", "--durations-path", "--splitting-algorithm")


def selection_args(args: list[str]) -> list[str]:
    """The invocation's arguments less pytest-split's own: what every shard of a campaign shares."""
    kept: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
            continue
        name = arg.split("=", 1)[0]
        if name in SPLIT_OPTIONS:
            skip = "=" not in arg
            continue
        kept.append(arg)
    return kept


class ShardRecorder:
    """Collects the shard's drills and finished tests; the controller alone writes (xdist workers never)."""

    def __init__(self, config: pytest.Config, run_dir: Path) -> None:
        self.config = config
        self.path = run_dir / SHARD_FILE
        self.assigned: list[str] = []
        self.finished: list[str] = []
        self.drill_nodeids: list[str] = []

    def record(self, status: str) -> dict[str, Any]:
        option = self.config.option
        return {
            "status": status,
            "host": socket.gethostname(),
            "platform": platform.platform(),
            "python": sys.version.split()[0],
            "pid": os.getpid(),
            "run_id": self.path.parent.name,
            "run_dir": str(self.path.parent.resolve()),
            "rootdir": str(self.config.rootpath),
            "group": getattr(option, "group", None),
            "splits": getattr(option, "splits", None),
            "durations_path": getattr(option, "durations_path", None),
            "selection": {
                "args": selection_args([str(arg) for arg in self.config.invocation_params.args]),
                "keyword": option.keyword or None,
                "markexpr": option.markexpr or None,
            },
            "seed": drill_seed_of(self.config),
            "scale": self.config.getoption("--drill-scale"),
            "engine_profile": self.config.getoption("--engine-profile"),
            "engine_cmd": self.config.getoption("--engine-cmd"),
            "remote_options": list(remote_options_of(self.config)),
            "assigned": self.assigned,
            "finished": self.finished,
            "drills": self.drill_nodeids,
        }

    def write(self, status: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temp = self.path.with_name(f".{SHARD_FILE}.{os.getpid()}")
        temp.write_text(json.dumps(self.record(status), indent=2) + "\n", encoding="utf-8")
        os.replace(temp, self.path)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.assigned = [item.nodeid for item in session.items]
        self.write("running")

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "teardown":
            return
        self.finished.append(report.nodeid)
        if any(key == DRILL_PROPERTY for key, _ in report.user_properties):
            self.drill_nodeids.append(report.nodeid)

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self.write(f"exited {int(exitstatus)}")


def pytest_configure(config: pytest.Config) -> None:
    report_dir = config.getoption("--drill-report-dir", None)
    if report_dir is None or hasattr(config, "workerinput"):
        return
    config.pluginmanager.register(ShardRecorder(config, Path(report_dir)), "usr-harness-shard-recorder")
