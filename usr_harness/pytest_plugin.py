"""pytest plugin (entry point `pytest11`): options, markers, hosts, engines and drill reports.

Import-light on purpose: it loads in every pytest run of a machine that has the
package, so heavy modules (paramiko, pyarrow, the engine) load inside fixtures.
Drill results travel as `user_properties`, which pytest-xdist forwards to the
controller, and the controller alone writes `drills.jsonl`.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from usr_harness.engines import RemoteSpec

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
        "--engine-profile",
        default=None,
        help="how to drive and read the engine: bundled, usr-cli, upstream, or a .toml/.yaml file "
        "(default: bundled, or usr-cli with --engine-cmd)",
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
    if not hasattr(config, "workerinput"):
        reporter = DrillReporter(Path(report_dir) if report_dir else None, config)
        config.pluginmanager.register(reporter, "usr-harness-drill-reporter")


def drill_seed_of(config: pytest.Config) -> int:
    seed = config.getoption("--drill-seed")
    return DEFAULT_SEED if seed is None else int(seed)


def engine_name_of(config: pytest.Config) -> str:
    """The engine profile's name, as reports group results by it."""
    from usr_harness.engines import load_profile

    chosen = config.getoption("--engine-profile") or ("usr-cli" if config.getoption("--engine-cmd") else None)
    return load_profile(chosen).name


def reproduce_of(config: pytest.Config, nodeid: str) -> str:
    """The command line that runs this one drill again with this session's seed, scale and engine."""
    from usr_harness.report.reproduce import reproduce_command

    return reproduce_command(
        nodeid,
        seed=drill_seed_of(config),
        scale=config.getoption("--drill-scale"),
        rootdir=str(config.rootpath),
        engine_profile=config.getoption("--engine-profile"),
        engine_cmd=config.getoption("--engine-cmd"),
    )


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
        "usr-harness: seed={} engine={} ({}) provider={} scale={}".format(
            drill_seed_of(config),
            engine_name_of(config),
            config.getoption("--engine-cmd") or "in-process",
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
    engine_cmd: str | None = None
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
        engine=engine_name_of(config),
        engine_cmd=config.getoption("--engine-cmd"),
    )
    yield record
    payload = {
        "seed": record.seed,
        "engine": record.engine,
        "engine_cmd": record.engine_cmd,
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
    """One drill's remote as engine-neutral data; each engine profile writes it its own way."""

    spec: RemoteSpec

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def base_dir(self) -> Path:
        return self.spec.base_dir

    @contextmanager
    def session(self) -> Iterator[Any]:
        """An SSH session to the remote for harness work on it (corruptions), never the engine's own."""
        from usr_harness.sync.remote import RemoteProfile, open_session

        spec = self.spec
        profile = RemoteProfile(
            name=spec.name,
            type="ssh",
            host=spec.host,
            user=spec.user,
            base_dir=str(spec.base_dir),
            port=spec.port,
            identity_file=str(spec.identity_file),
            known_hosts=str(spec.known_hosts),
            python=spec.python or "python3",
        )
        with open_session(profile) as session:
            yield session


@pytest.fixture
def drill_remote(request: pytest.FixtureRequest, tmp_path: Path) -> DrillRemote:
    """A fresh remote datasets root per drill."""
    from usr_harness.engines import RemoteSpec

    if request.config.getoption("--remote-provider") == "profile":
        from usr_harness.sync.remote import get_profile

        name = request.config.getoption("--remote-profile")
        if not name:
            pytest.fail("--remote-provider profile needs --remote-profile NAME")
        profile = get_profile(name, None)
        if not (profile.identity_file and profile.known_hosts):
            pytest.fail(f"profile {name} needs identity_file and known_hosts to be drilled")
        return DrillRemote(
            RemoteSpec(
                name=name,
                host=profile.host,
                port=profile.port,
                user=profile.user,
                base_dir=Path(profile.base_dir),
                identity_file=Path(profile.identity_file).expanduser(),
                known_hosts=Path(profile.known_hosts).expanduser(),
                python=profile.python,
            )
        )
    host = request.getfixturevalue("drill_host")
    base = host.base_dir / f"drill-{stable_seed(0, request.node.nodeid):08x}-{time.monotonic_ns() % 10**6}"
    base.mkdir(parents=True)
    return DrillRemote(host.remote_spec("loopback", base_dir=base))


def make_drill_engine(config: pytest.Config, root: Path, remote: DrillRemote | None, workdir: Path):
    """The engine the options name, rooted at `root`: drills that need a second engine call this."""
    from usr_harness.engines import make_engine

    root.mkdir(parents=True, exist_ok=True)
    workdir.mkdir(parents=True, exist_ok=True)
    return make_engine(
        root,
        profile=config.getoption("--engine-profile"),
        engine_cmd=config.getoption("--engine-cmd"),
        remote=None if remote is None else remote.spec,
        workdir=workdir,
    )


@pytest.fixture
def drill_engine(request: pytest.FixtureRequest, tmp_path: Path, drill_remote: DrillRemote):
    """The engine under test, rooted at a fresh local datasets root."""
    return make_drill_engine(request.config, tmp_path / "local", drill_remote, tmp_path / "engine")


def _verdict(outcomes: list[str]) -> str:
    if "failed" in outcomes:
        return "fail"
    if "skipped" in outcomes:
        return "unknown"
    return "pass"


def _reason(report: pytest.TestReport) -> str | None:
    """Why a phase did not pass, in one line: the skip reason or the failure's crash message."""
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    if report.failed:
        crash = getattr(report.longrepr, "reprcrash", None)
        message = crash.message if crash is not None else str(report.longrepr)
        # The drill's own words; pytest's rewritten `assert ...` explanation after them repeats objects.
        return message.split("\nassert ", 1)[0].strip().removeprefix("Failed: ")[:2000]
    return None


class DrillReporter:
    """Collects phase outcomes where results are gathered (the xdist controller too): one line per
    drill in `drills.jsonl` when a report folder is given, and the reproduce line of every failing
    drill in the terminal summary (as hypothesis prints its reproduce line)."""

    def __init__(self, report_dir: Path | None, config: pytest.Config) -> None:
        self.path = None if report_dir is None else report_dir / "drills.jsonl"
        self.config = config
        self.outcomes: dict[str, list[str]] = {}
        self.reasons: dict[str, str] = {}
        self.failed: list[tuple[str, str, str]] = []  # nodeid, reason, reproduce command

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.outcomes.setdefault(report.nodeid, []).append(report.outcome)
        reason = _reason(report)
        if reason and report.nodeid not in self.reasons:
            self.reasons[report.nodeid] = reason
        if report.when != "teardown":
            return
        outcomes = self.outcomes.pop(report.nodeid)
        reason = self.reasons.pop(report.nodeid, None)
        payloads = [json.loads(value) for key, value in report.user_properties if key == DRILL_PROPERTY]
        if not payloads:
            return
        reproduce = reproduce_of(self.config, report.nodeid)
        line = {"nodeid": report.nodeid, "verdict": _verdict(outcomes), "reproduce": reproduce}
        line.update(payloads[-1])
        if line["verdict"] == "fail":
            self.failed.append((report.nodeid, reason or "", reproduce))
        if reason:
            key = "failure" if line["verdict"] == "fail" else "unknown_because"
            line["evidence"] = {key: reason, **line.get("evidence", {})}
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(line, sort_keys=True) + "\n")

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.failed:
            return
        terminalreporter.section("usr-harness: reproduce the failing drills", yellow=True)
        for nodeid, reason, command in self.failed:
            first = reason.strip().splitlines()[0] if reason.strip() else "failed"
            terminalreporter.line(f"{nodeid}: {first[:300]}")
            terminalreporter.line(f"  {command}")

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """report.json and index.html beside drills.jsonl, so any drill run reads like a cycle's."""
        if self.path is None or not self.path.exists():
            return
        from usr_harness.report.build import RunSettings, write_run_files

        config = self.config
        settings = RunSettings(
            seed=drill_seed_of(config),
            engine_cmd=config.getoption("--engine-cmd"),
            scale=config.getoption("--drill-scale"),
            rootdir=Path(config.rootpath),
            engine_profile=config.getoption("--engine-profile"),
        )
        write_run_files(self.path.parent, settings)
