"""pytest plugin (entry point `pytest11`): options, markers, hosts, engines and drill reports.

Import-light on purpose: it loads in every pytest run of a machine that has the
package, so heavy modules (paramiko, pyarrow, the engine) load inside fixtures.
Drill results travel as `user_properties`, which pytest-xdist forwards to the
controller, and the controller alone writes `drills.jsonl`.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from usr_harness.cycle.scales import SCALES
from usr_harness.hosts.debian_image import DEFAULT_SUITE, SUITES
from usr_harness.report.versions import tool_versions

if TYPE_CHECKING:
    from usr_harness.engines import RemoteSpec
    from usr_harness.hosts.profile import ProfileRemote

MARKERS = {
    "drill": "a drill: its verdict and evidence go to the drill report",
    "ssh": "needs an SSH host (the loopback sshd by default)",
    "fault": "injects transfer faults",
    "slow": "takes more than a few seconds",
    "adversarial": "runs hostile inputs from the adversarial catalogue",
    "corruption": "applies corruptions from the corruption catalogue",
    "enforces(*sources)": "what a drill holds the engine to: runbook clauses "
    "(docs/operations/...md#section) or hardening rule ids (H-...), see docs/contract.md",
}
DRILL_PROPERTY = "usr_drill"
DEFAULT_SEED = 1729


@dataclass(frozen=True)
class DrillOption:
    """One plugin option: `--drill-<name>` on the command line, `drill_<name>` in the ini file.

    `legacy` is the spelling used before every option shared the `--drill-` prefix; it
    still works so existing scripts keep running.
    """

    name: str
    help: str
    default: str | None = None
    choices: tuple[str, ...] | None = None
    legacy: str | None = None
    integer: bool = False
    metavar: str | None = None

    @property
    def flag(self) -> str:
        return f"--drill-{self.name}"

    @property
    def dest(self) -> str:
        """The attribute pytest stores it under: the legacy one, so `getoption` callers stay valid."""
        return (self.legacy or self.flag).lstrip("-").replace("-", "_")

    @property
    def ini(self) -> str:
        return f"drill_{self.name.replace('-', '_')}"


REMOTE_PROVIDERS = ("loopback", "container", "profile")
DRILL_REMOTE = "loopback"
"""The name drills give their remote in the engine's configuration, whichever provider serves it."""

OPTIONS = (
    DrillOption("seed", f"seed of every generator (default {DEFAULT_SEED})", integer=True),
    DrillOption("report-dir", "write drills.jsonl (and evidence) here"),
    DrillOption(
        "engine-cmd", "a usr-compatible command line (default: bundled engine)", legacy="--engine-cmd"
    ),
    DrillOption(
        "engine-profile",
        "how to drive and read the engine: bundled, usr-cli, upstream, or a .toml/.yaml file "
        "(default: bundled, or usr-cli with --drill-engine-cmd)",
        legacy="--engine-profile",
    ),
    DrillOption(
        "remote-provider",
        "where the remote comes from (default loopback)",
        default="loopback",
        choices=REMOTE_PROVIDERS,
        legacy="--remote-provider",
    ),
    DrillOption(
        "remote-profile", "profile name for --drill-remote-provider profile", legacy="--remote-profile"
    ),
    DrillOption(
        "container-suite",
        f"Debian suite of the container provider's host (default {DEFAULT_SUITE})",
        default=DEFAULT_SUITE,
        choices=tuple(SUITES),
    ),
    DrillOption(
        "sshd-binary",
        "sshd for the loopback provider (default /usr/sbin/sshd)",
        default="/usr/sbin/sshd",
        legacy="--sshd-binary",
    ),
    DrillOption("scale", "size of generated data (default small)", default="small", choices=tuple(SCALES)),
    DrillOption(
        "kills",
        "seeded kill -9 runs in the crash drill (default 6, as CI runs it; 100 or more for a full run)",
        default="6",
        integer=True,
    ),
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("usr-harness", "usr-harness drills")
    for option in OPTIONS:
        names = [option.flag] + ([option.legacy] if option.legacy else [])
        kind: dict[str, Any] = {"type": int} if option.integer else {}
        if not option.choices:
            kind["metavar"] = option.metavar or option.name.split("-")[-1].upper()
        group.addoption(
            *names, dest=option.dest, default=None, choices=option.choices, help=option.help, **kind
        )
        parser.addini(option.ini, f"{option.flag} in the ini file", default=None)


def resolve_options(config: pytest.Config) -> None:
    """The command line wins, then the ini file, then the default; every caller reads `getoption`."""
    for option in OPTIONS:
        value = config.getoption(option.dest)
        if value is None:
            value = config.getini(option.ini) or option.default
        if value is not None and option.integer:
            try:
                value = int(value)
            except ValueError:
                raise pytest.UsageError(f"{option.ini} = {value!r}: not an integer") from None
        if value is not None and option.choices and value not in option.choices:
            raise pytest.UsageError(f"{option.ini} = {value!r}: choose from {', '.join(option.choices)}")
        setattr(config.option, option.dest, value)


PROFILE_REMOTE: pytest.StashKey[ProfileRemote] = pytest.StashKey()


def pytest_configure(config: pytest.Config) -> None:
    resolve_options(config)
    _check_profile_remote(config)
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    report_dir = config.getoption("--drill-report-dir", None)
    if not hasattr(config, "workerinput"):
        reporter = DrillReporter(Path(report_dir) if report_dir else None, config)
        config.pluginmanager.register(reporter, "usr-harness-drill-reporter")


def _check_profile_remote(config: pytest.Config) -> None:
    """Read and try the real remote once, before any drill, from the caller's remotes file: tests run
    in an isolated environment that no longer sees it, and a wrong profile is one usage error, not a
    failed drill per case."""
    if config.getoption("--remote-provider") != "profile":
        return
    from usr_harness.errors import UsrError
    from usr_harness.hosts.profile import profile_remote

    name = config.getoption("--remote-profile")
    if not name:
        raise pytest.UsageError("--drill-remote-provider profile needs --drill-remote-profile NAME")
    try:
        config.stash[PROFILE_REMOTE] = profile_remote(name)
    except UsrError as error:
        raise pytest.UsageError(error.message) from None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A drill citing a malformed runbook clause or an unknown hardening rule is a usage error."""
    from usr_harness.report.sources import kind_of

    wrong = []
    for item in items:
        for source in sources_of(item):
            try:
                kind_of(source)
            except ValueError as error:
                wrong.append(f"{item.nodeid}: {error}")
    if wrong:
        raise pytest.UsageError("\n".join(wrong))


def sources_of(item: pytest.Item) -> list[str]:
    """The runbook clauses and hardening rules a drill enforces, in marker order, each once."""
    found: list[str] = []
    for marker in item.iter_markers("enforces"):
        found += [str(arg) for arg in marker.args if str(arg) not in found]
    return found


def unsupported(reason: str) -> None:
    """End the drill as `unsupported`: the engine lacks a feature the drill needs (`reason` names it)."""
    pytest.skip(f"unsupported: {reason}")


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
        remote_options=remote_options_of(config),
    )


def remote_options_of(config: pytest.Config) -> tuple[str, ...]:
    """The options that choose a remote other than the loopback host: for reproduce lines, and in the
    report so that replay runs on the same remote and merge refuses shards that ran on others."""
    return remote_option_args(
        config.getoption("--remote-provider"),
        profile=config.getoption("--remote-profile"),
        suite=config.getoption("--drill-container-suite"),
    )


def remote_option_args(
    provider: str, *, profile: str | None = None, suite: str | None = None
) -> tuple[str, ...]:
    """The drill options that choose `provider` (none for the default loopback host)."""
    if provider == "container":
        return (f"--drill-remote-provider={provider}", f"--drill-container-suite={suite or DEFAULT_SUITE}")
    if provider == "profile":
        return (f"--drill-remote-provider={provider}", f"--drill-remote-profile={profile}")
    return ()


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
    enforces: list[str] = field(default_factory=list)
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
    from usr_harness.engines.adapter import engine_calls

    config = request.config
    record = DrillRecord(
        nodeid=request.node.nodeid,
        seed=stable_seed(drill_seed_of(config), request.node.nodeid),
        engine=engine_name_of(config),
        engine_cmd=config.getoption("--engine-cmd"),
        enforces=sources_of(request.node),
    )
    calls = engine_calls()
    yield record
    remote = request.node.funcargs.get("drill_remote")
    if isinstance(remote, DrillRemote) and remote.host:
        record.evidence.setdefault("remote_host", remote.host)
    payload = {
        "seed": record.seed,
        "engine": record.engine,
        "engine_cmd": record.engine_cmd,
        "enforces": record.enforces,
        "engine_calls": engine_calls() - calls,
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
        from usr_harness.hosts.container import ContainerSshd, container_unavailable

        suite = request.config.getoption("--drill-container-suite")
        reason = container_unavailable(suite)
        if reason:
            pytest.skip(f"container provider: {reason}")
        from usr_harness.errors import ConfigError

        host = ContainerSshd(tmp_path_factory.mktemp("container"), suite=suite)
        try:
            host.start()
        except ConfigError as error:  # the image could not be built here: no verdict, the reason says why
            pytest.skip(f"container provider: {error.message}")
        try:
            yield host
        finally:
            host.stop()
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
    host: dict[str, str] | None = None  # where the remote runs (provider, OS, Python), for the report

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
    if request.config.getoption("--remote-provider") == "profile":
        remote = request.config.stash[PROFILE_REMOTE]
        base = _fresh_drill_folder(remote.spec.base_dir, request)
        return DrillRemote(remote.spec.changed(name=DRILL_REMOTE, base_dir=base), host=remote.host)
    host = request.getfixturevalue("drill_host")
    base = _fresh_drill_folder(host.base_dir, request)
    return DrillRemote(host.remote_spec(DRILL_REMOTE, base_dir=base), host=host.describe())


def _fresh_drill_folder(base_dir: Path, request: pytest.FixtureRequest) -> Path:
    """One folder per drill under the host's base_dir, so drills sharing a host never meet."""
    base = base_dir / f"drill-{stable_seed(0, request.node.nodeid):08x}-{time.monotonic_ns() % 10**6}"
    base.mkdir(parents=True)
    return base


@pytest.fixture
def small_disk() -> Iterator[Any]:
    """`small_disk(folder, size)`: a real tmpfs of `size` bytes mounted over the empty `folder`,
    unmounted after the test; the test is skipped, with the reason, where mounting is not permitted."""
    from usr_harness.faults import small_disk as disk

    mounted: list[Path] = []

    def mount(folder: Path, size: int) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        problem = disk.mount_problem(folder, size)
        if problem is not None:
            pytest.skip(f"no small filesystem to fill: {problem}")
        mounted.append(folder)
        return folder

    yield mount
    for folder in reversed(mounted):
        disk.unmount(folder)


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
        hang_seconds=SCALES[config.getoption("--drill-scale")]["hang_seconds"],
    )


@pytest.fixture
def drill_engine(request: pytest.FixtureRequest, tmp_path: Path, drill_remote: DrillRemote):
    """The engine under test, rooted at a fresh local datasets root."""
    return make_drill_engine(request.config, tmp_path / "local", drill_remote, tmp_path / "engine")


def _crash_message(report: pytest.TestReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    return crash.message if crash is not None else str(report.longrepr)


def _reason(report: pytest.TestReport) -> str | None:
    """Why a phase did not pass, in one line: the skip reason or the failure's crash message."""
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    if report.failed:
        message = _crash_message(report)
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
        self.crashes: dict[str, str | None] = {}
        self.failed: list[tuple[str, str, str]] = []  # nodeid, reason, reproduce command

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.outcomes.setdefault(report.nodeid, []).append(report.outcome)
        reason = _reason(report)
        if reason and report.nodeid not in self.reasons:
            self.reasons[report.nodeid] = reason
        if report.failed and report.nodeid not in self.crashes:
            from usr_harness.report.verdicts import crash_type

            self.crashes[report.nodeid] = crash_type(_crash_message(report))
        if report.when != "teardown":
            return
        outcomes = self.outcomes.pop(report.nodeid)
        reason = self.reasons.pop(report.nodeid, None)
        crash = self.crashes.pop(report.nodeid, None)
        payloads = [json.loads(value) for key, value in report.user_properties if key == DRILL_PROPERTY]
        if not payloads:
            return
        from usr_harness.report.verdicts import decide, drill_message

        reproduce = reproduce_of(self.config, report.nodeid)
        line = {"nodeid": report.nodeid, "reproduce": reproduce}
        line.update(payloads[-1])
        verdict, why = decide(
            outcomes, reason, engine_calls=line["engine_calls"], enforces=line["enforces"], crash=crash
        )
        line["verdict"] = verdict
        line["message"] = drill_message(verdict, why, line["enforces"])
        if verdict == "fail":
            self.failed.append((report.nodeid, why or "", reproduce))
        if why:
            key = {"fail": "failure", "unsupported": "unsupported_because"}.get(verdict, "unknown_because")
            line["evidence"] = {key: why, **line.get("evidence", {})}
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
            remote_options=remote_options_of(config),
        )
        write_run_files(self.path.parent, settings)
