"""The pytest plugin, run inside a throwaway pytest session (pytester): options, markers, drill reports."""

from __future__ import annotations

import json
import platform
import tomllib
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

DRILLS = """
import pytest

from usr_harness.engines import make_engine
from usr_harness.pytest_plugin import unsupported

pytestmark = pytest.mark.enforces("H-hostile-input")

def _engine_call(tmp_path):
    make_engine(tmp_path).run("validate", "absent")

@pytest.mark.drill
def test_passes(drill, tmp_path):
    _engine_call(tmp_path)
    drill.add_evidence("note", {"seed": drill.seed})
    drill.add_fingerprint("final", {"local": "a", "remote": "a"})

@pytest.mark.drill
@pytest.mark.enforces("docs/operations/sync/fidelity-drills.md#drill-3-overlay-schema-attack-surface")
def test_fails(drill, tmp_path):
    _engine_call(tmp_path)
    assert drill.seed < 0

@pytest.mark.drill
def test_unknown(drill):
    pytest.skip("blind spot")

@pytest.mark.drill
def test_unsupported(drill):
    unsupported("engine mine has no --lock-timeout SECONDS")

@pytest.mark.drill
def test_no_engine_call(drill):
    pass

@pytest.mark.drill
@pytest.mark.enforces()
def test_no_source(drill, tmp_path):
    _engine_call(tmp_path)

def test_not_a_drill():
    pass
"""


def _lines(path) -> dict[str, dict]:
    return {
        json.loads(line)["nodeid"].split("::")[-1]: json.loads(line) for line in path.read_text().splitlines()
    }


def test_options_and_markers_are_registered(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    for option in (
        "--drill-seed",
        "--drill-report-dir",
        "--drill-engine-cmd=CMD, --engine-cmd=CMD",
        "--drill-engine-profile=PROFILE, --engine-profile=PROFILE",
        "--drill-remote-provider=*, --remote-provider=*",
        "--drill-remote-profile=PROFILE, --remote-profile=PROFILE",
        "--drill-sshd-binary=BINARY, --sshd-binary=BINARY",
        "--drill-scale",
    ):
        result.stdout.fnmatch_lines([f"*{option}*"])
    for ini in ("drill_seed", "drill_engine_cmd", "drill_remote_provider", "drill_scale"):
        result.stdout.fnmatch_lines([f"*{ini} (*"])
    markers = pytester.runpytest("--markers").stdout.str()
    for marker in ("drill", "ssh", "fault", "slow", "adversarial", "corruption"):
        assert markers.count(f"@pytest.mark.{marker}:") == 1


def test_each_marker_is_registered_by_the_plugin_alone() -> None:
    project = tomllib.loads(Path(__file__).parents[1].joinpath("pyproject.toml").read_text())
    assert "markers" not in project["tool"]["pytest"]["ini_options"]


SHOW_OPTIONS = """
def test_show(request):
    print("seen:", request.config.getoption("--drill-seed"), request.config.getoption("--engine-cmd"),
          request.config.getoption("--drill-scale"), request.config.getoption("--remote-provider"))
"""


def test_the_ini_file_sets_an_option_and_the_command_line_wins(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_show=SHOW_OPTIONS)
    pytester.makeini("[pytest]\ndrill_seed = 11\ndrill_engine_cmd = my-usr\ndrill_scale = medium\n")
    pytester.runpytest("-s").stdout.fnmatch_lines(["*seen: 11 my-usr medium loopback*"])
    again = pytester.runpytest(
        "-s", "--drill-seed", "12", "--engine-cmd", "old-usr", "--drill-scale", "small"
    )
    again.stdout.fnmatch_lines(["*seen: 12 old-usr small loopback*"])


def test_an_ini_value_outside_the_choices_is_refused(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_show=SHOW_OPTIONS)
    pytester.makeini("[pytest]\ndrill_remote_provider = cloud\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*drill_remote_provider = 'cloud': choose from loopback, container, profile*"]
    )


def test_header_names_seed_engine_and_versions(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_x="def test_x():\n    pass\n")
    result = pytester.runpytest("--drill-seed", "42")
    result.stdout.fnmatch_lines(["*usr-harness: seed=42 engine=bundled*", "*paramiko*pyarrow*"])


@pytest.mark.parametrize("workers", [0, 2], ids=["serial", "xdist"])
def test_verdicts_and_evidence_reach_drills_jsonl(pytester: pytest.Pytester, workers: int) -> None:
    pytester.makepyfile(test_drills=DRILLS)
    report = pytester.path / "out"
    args = ["--drill-seed", "7", f"--drill-report-dir={report}", "-p", "no:cacheprovider"]
    if workers:
        args += ["-n", str(workers)]
    result = pytester.runpytest_subprocess(*args)
    result.assert_outcomes(passed=4, failed=1, skipped=2)
    lines = _lines(report / "drills.jsonl")
    names = ("test_passes", "test_fails", "test_unknown", "test_unsupported", "test_no_engine_call")
    assert set(lines) == {*names, "test_no_source"}
    verdicts = ["pass", "fail", "unknown", "unsupported", "unknown"]
    assert [lines[n]["verdict"] for n in names] == verdicts
    assert lines["test_passes"]["engine_calls"] == 1 and lines["test_no_engine_call"]["engine_calls"] == 0
    assert lines["test_passes"]["message"] == "pass: holds H-hostile-input"
    assert lines["test_fails"]["message"].startswith(
        "fail (runbook violation of docs/operations/sync/fidelity-drills.md#drill-3-overlay-schema-attack-"
        "surface, H-hostile-input): AssertionError"
    )
    assert lines["test_unsupported"]["message"] == "unsupported: engine mine has no --lock-timeout SECONDS"
    assert (
        lines["test_no_engine_call"]["message"] == "unknown: harness defect: the drill ran no engine command"
    )
    # A marker with no argument adds nothing: the module's rule is still the drill's only source.
    assert lines["test_no_source"]["enforces"] == ["H-hostile-input"]
    assert lines["test_passes"]["evidence"]["note"] == {"seed": lines["test_passes"]["seed"]}
    assert lines["test_passes"]["fingerprints"]["final"] == {"local": "a", "remote": "a"}
    assert lines["test_fails"]["evidence"]["failure"].startswith("AssertionError: assert ")
    assert lines["test_unknown"]["evidence"]["unknown_because"] == "blind spot"
    command = "pytest test_drills.py::test_fails --drill-seed=7 --drill-scale=small -p no:xdist"
    assert lines["test_fails"]["reproduce"] == f"cd {pytester.path} && {command}"
    summary = result.stdout.str().split("usr-harness: reproduce the failing drills", 1)[1]
    assert "test_drills.py::test_fails: AssertionError" in summary and f"  cd {pytester.path} && " in summary
    assert "test_unknown" not in summary.split("short test summary")[0]


def test_a_drill_naming_no_source_is_unknown_and_an_unknown_source_is_a_usage_error(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_bare="import pytest\n\n@pytest.mark.drill\ndef test_bare(drill):\n    pass\n",
        test_typo="import pytest\n\n@pytest.mark.enforces('H-no-such-rule')\ndef test_typo():\n    pass\n",
    )
    report = pytester.path / "out"
    pytester.runpytest_subprocess("test_bare.py", f"--drill-report-dir={report}", "-p", "no:cacheprovider")
    line = _lines(report / "drills.jsonl")["test_bare"]
    assert line["verdict"] == "unknown" and "names no runbook clause" in line["message"]
    typo = pytester.runpytest_subprocess("test_typo.py", "-p", "no:cacheprovider")
    assert typo.ret == pytest.ExitCode.USAGE_ERROR
    assert "unknown drill source 'H-no-such-rule'" in typo.stderr.str()


def test_same_seed_same_drill_seeds(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_drills=DRILLS)
    seeds = []
    for run in ("a", "b", "c"):
        seed = "7" if run != "c" else "8"
        pytester.runpytest_subprocess("--drill-seed", seed, f"--drill-report-dir={pytester.path / run}")
        seeds.append(_lines(pytester.path / run / "drills.jsonl")["test_passes"]["seed"])
    assert seeds[0] == seeds[1] != seeds[2]


def test_container_provider_skips_with_its_reason_when_docker_does_not_answer(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    pytester.makepyfile(test_remote="def test_remote(drill_remote):\n    pass\n")
    result = pytester.runpytest("--remote-provider", "container", "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*container provider: Docker does not answer*"])


def test_a_container_drill_that_cannot_run_says_why_and_how_to_run_it_again(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    pytester.makepyfile(test_remote="def test_remote(drill, drill_remote):\n    pass\n")
    report = pytester.path / "run"
    args = ("--drill-remote-provider", "container", "--drill-container-suite", "bullseye")
    pytester.runpytest(*args, f"--drill-report-dir={report}").assert_outcomes(skipped=1)
    line = _lines(report / "drills.jsonl")["test_remote"]
    assert line["verdict"] == "unknown"
    assert line["evidence"]["unknown_because"].startswith("container provider: Docker does not answer")
    assert "--drill-remote-provider=container --drill-container-suite=bullseye" in line["reproduce"]
    assert pytester.runpytest("--drill-container-suite", "potato").ret == pytest.ExitCode.USAGE_ERROR


def test_a_drill_names_the_remote_hosts_os_and_python(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_remote="def test_remote(drill, drill_remote):\n    pass\n")
    pytester.runpytest(f"--drill-report-dir={pytester.path / 'run'}").assert_outcomes(passed=1)
    line = _lines(pytester.path / "run" / "drills.jsonl")["test_remote"]
    host = line["evidence"]["remote_host"]
    assert host["provider"] == "loopback" and host["python"] == platform.python_version() and host["os"]
    assert "--drill-remote-provider" not in line["reproduce"]  # loopback is the default


PROFILE_DRILL = """
import pytest

@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch):
    monkeypatch.delenv("USR_REMOTES_PATH")  # as the repository's own conftest does for every test

def test_remote(drill, drill_remote):
    with drill_remote.session() as session:
        assert session.run("test -d " + str(drill_remote.base_dir)).exit_status == 0
    assert drill_remote.base_dir.parent == drill_remote.spec.base_dir.parent
    drill.add_evidence("base_dir", str(drill_remote.base_dir))
"""


@pytest.mark.ssh
def test_a_profile_remote_is_read_before_tests_isolate_the_environment(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from usr_harness.hosts.loopback import LoopbackSshd

    pytester.makepyfile(test_remote=PROFILE_DRILL)
    with LoopbackSshd(tmp_path / "host") as host:
        monkeypatch.setenv("USR_REMOTES_PATH", str(host.write_remotes_yaml(tmp_path / "r.yaml", "hpc-login")))
        args = ("--drill-remote-provider", "profile", "--drill-remote-profile", "hpc-login")
        pytester.runpytest(*args, f"--drill-report-dir={pytester.path / 'run'}").assert_outcomes(passed=1)
    line = _lines(pytester.path / "run" / "drills.jsonl")["test_remote"]
    assert Path(line["evidence"]["base_dir"]).parent == host.base_dir
    assert line["evidence"]["remote_host"] == {
        "provider": "profile",
        "python": platform.python_version(),
        "os": platform.freedesktop_os_release()["PRETTY_NAME"],
    }
    assert "--drill-remote-provider=profile --drill-remote-profile=hpc-login" in line["reproduce"]


@pytest.mark.ssh
@pytest.mark.parametrize(
    ("profile", "says"),
    [("no-such-hpc", "unknown remote 'no-such-hpc'"), ("unshared", "is not a folder on this machine")],
)
def test_a_profile_that_cannot_be_drilled_is_one_usage_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, profile: str, says: str
) -> None:
    from usr_harness.hosts.loopback import LoopbackSshd

    pytester.makepyfile(test_remote=PROFILE_DRILL)
    with LoopbackSshd(tmp_path / "host") as host:
        remotes = host.write_remotes_yaml(tmp_path / "r.yaml", "unshared", base_dir=tmp_path / "elsewhere")
        monkeypatch.setenv("USR_REMOTES_PATH", str(remotes))
        result = pytester.runpytest("--drill-remote-provider", "profile", "--drill-remote-profile", profile)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{says}*"])
