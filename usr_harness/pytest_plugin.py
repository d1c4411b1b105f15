"""pytest plugin (entry point `pytest11`): options, markers, hosts, engines and drill reports.

Import-light on purpose: it loads in every pytest run of a machine that has the
package, so heavy modules (paramiko, pyarrow, the engine) load inside fixtures.
Drill results travel as `user_properties`, which pytest-xdist forwards to the
controller, and the controller alone writes `drills.jsonl`.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

MARKERS = {
    "drill": "a drill: its verdict and evidence go to the drill report",
    "ssh": "needs an SSH host (the loopback sshd by default)",
    "fault": "injects transfer faults",
    "slow": "takes more than a few seconds",
    "adversarial": "runs hostile inputs from the adversarial catalogue",
    "corruption": "applies corruptions from the corruption catalogue",
}
SCALES = {
    "small": {"rows": 40, "parts": 2, "rounds": 3},
    "medium": {"rows": 2_000, "parts": 8, "rounds": 5},
    "large": {"rows": 50_000, "parts": 32, "rounds": 8},
}
DRILL_PROPERTY = "usr_drill"
DEFAULT_SEED = 1729


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("usr-harness", "usr-harness drills")
    group.addoption(
        "--drill-seed", type=int, default=None, help=f"seed of every generator (default {DEFAULT_SEED})"
    )
    group.addoption("--drill-report-dir", default=None, help="write drills.jsonl (and evidence) here")
    group.addoption(
        "--engine-cmd", default=None, help="a usr-compatible command line (default: bundled engine)"
    )
    group.addoption(
        "--remote-provider",
        choices=("loopback", "container", "profile"),
        default="loopback",
        help="where the remote comes from",
    )
    group.addoption("--remote-profile", default=None, help="profile name for --remote-provider profile")
    group.addoption("--sshd-binary", default="/usr/sbin/sshd", help="sshd for the loopback provider")
    group.addoption("--drill-scale", choices=tuple(SCALES), default="small", help="size of generated data")


def pytest_configure(config: pytest.Config) -> None:
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    report_dir = config.getoption("--drill-report-dir", None)
    if report_dir and not hasattr(config, "workerinput"):
        config.pluginmanager.register(DrillReporter(Path(report_dir)), "usr-harness-drill-reporter")


def drill_seed_of(config: pytest.Config) -> int:
    seed = config.getoption("--drill-seed")
    return DEFAULT_SEED if seed is None else int(seed)


def _openssh_version() -> str:
    try:
        done = subprocess.run(["ssh", "-V"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "absent"
    return (done.stderr or done.stdout).strip()


def tool_versions() -> dict[str, str]:
    """Versions a report needs to be reproduced: read lazily, only for headers and reports."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version(), "openssh": _openssh_version()}
    for package in ("usr-harness", "paramiko", "pyarrow", "pytest"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "absent"
    return found


def pytest_report_header(config: pytest.Config) -> list[str]:
    versions = tool_versions()
    return [
        "usr-harness: seed={} engine={} provider={} scale={}".format(
            drill_seed_of(config),
            config.getoption("--engine-cmd") or "bundled",
            config.getoption("--remote-provider"),
            config.getoption("--drill-scale"),
        ),
        "usr-harness: " + ", ".join(f"{k} {v}" for k, v in versions.items()),
    ]


@dataclass
class DrillRecord:
    """What a drill says about itself, beyond pass/fail: evidence a person can open afterwards."""

    nodeid: str
    seed: int
    engine: str
    evidence: dict[str, Any] = field(default_factory=dict)
    fingerprints: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)

    def add_evidence(self, name: str, value: Any) -> None:
        self.evidence[name] = value

    def add_fingerprint(self, name: str, value: Any) -> None:
        self.fingerprints[name] = value


def stable_seed(base: int, nodeid: str) -> int:
    """Each drill gets its own seed, the same on every run and every xdist worker."""
    digest = hashlib.sha256(f"{base}:{nodeid}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


@pytest.fixture
def drill(request: pytest.FixtureRequest) -> DrillRecord:
    """Record this test as a drill; evidence added to it lands in the drill report."""
    config = request.config
    record = DrillRecord(
        nodeid=request.node.nodeid,
        seed=stable_seed(drill_seed_of(config), request.node.nodeid),
        engine=config.getoption("--engine-cmd") or "bundled",
    )
    yield record
    payload = {
        "seed": record.seed,
        "engine": record.engine,
        "evidence": record.evidence,
        "fingerprints": record.fingerprints,
        "duration_seconds": round(time.monotonic() - record.started, 3),
    }
    request.node.user_properties.append((DRILL_PROPERTY, json.dumps(payload, default=str)))


@pytest.fixture(scope="session")
def drill_scale(request: pytest.FixtureRequest) -> dict[str, int]:
    return dict(SCALES[request.config.getoption("--drill-scale")])


@pytest.fixture(scope="session")
def drill_host(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """The remote host for this worker: a throwaway loopback sshd unless another provider is chosen."""
    provider = request.config.getoption("--remote-provider")
    if provider == "profile":
        pytest.skip("profile provider drills a real remote: use the drill_remote fixture")
    if provider == "container":
        from usr_harness.hosts.container import ContainerSshd, docker_unavailable

        reason = docker_unavailable()
        if reason:
            pytest.skip(f"container provider: {reason}")
        with ContainerSshd(tmp_path_factory.mktemp("container")) as host:
            yield host
        return
    from usr_harness.hosts.loopback import LoopbackSshd

    with LoopbackSshd(
        tmp_path_factory.mktemp("sshd"), sshd_binary=request.config.getoption("--sshd-binary")
    ) as host:
        yield host


@dataclass(frozen=True)
class DrillRemote:
    """One drill's view of the remote: the profile name, its YAML, and the remote datasets root."""

    name: str
    remotes_config: Path
    base_dir: Path


@pytest.fixture
def drill_remote(request: pytest.FixtureRequest, tmp_path: Path) -> DrillRemote:
    """A fresh remote datasets root per drill, with a remotes YAML naming it."""
    if request.config.getoption("--remote-provider") == "profile":
        from usr_harness.sync.remote.profiles import get_profile

        name = request.config.getoption("--remote-profile")
        if not name:
            pytest.fail("--remote-provider profile needs --remote-profile NAME")
        profile = get_profile(name, None)
        return DrillRemote(name, Path(os.environ["USR_REMOTES_PATH"]), Path(profile.base_dir))
    host = request.getfixturevalue("drill_host")
    base = host.base_dir / f"drill-{stable_seed(0, request.node.nodeid):08x}-{time.monotonic_ns() % 10**6}"
    base.mkdir(parents=True)
    config = host.write_remotes_yaml(tmp_path / "remotes.yaml", "loopback", base_dir=base)
    return DrillRemote("loopback", config, base)


@pytest.fixture
def drill_engine(request: pytest.FixtureRequest, tmp_path: Path, drill_remote: DrillRemote):
    """The engine under test, rooted at a fresh local datasets root."""
    from usr_harness.engines import engine_from_cmd

    local_root = tmp_path / "local"
    local_root.mkdir()
    return engine_from_cmd(request.config.getoption("--engine-cmd"), local_root, drill_remote.remotes_config)


def _verdict(outcomes: list[str]) -> str:
    if "failed" in outcomes:
        return "fail"
    if "skipped" in outcomes:
        return "unknown"
    return "pass"


class DrillReporter:
    """Collects phase outcomes where results are gathered (the xdist controller too); one line per drill."""

    def __init__(self, report_dir: Path) -> None:
        self.path = report_dir / "drills.jsonl"
        self.outcomes: dict[str, list[str]] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.outcomes.setdefault(report.nodeid, []).append(report.outcome)
        if report.when != "teardown":
            return
        outcomes = self.outcomes.pop(report.nodeid)
        payloads = [json.loads(value) for key, value in report.user_properties if key == DRILL_PROPERTY]
        if not payloads:
            return
        line = {"nodeid": report.nodeid, "verdict": _verdict(outcomes), **payloads[-1]}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(line, sort_keys=True) + "\n")
