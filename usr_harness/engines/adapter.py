"""One interface over any `usr`-compatible engine, so the same drills judge any implementation.

Drills never reach into engine internals: they pass the runbook's flags
(`--root`, `--remotes-config`, `--audit-json-out`) and read back the exit code,
the error family, the audit JSON and the output. The engine's profile says how
the remote is written for it and how its outcome is read.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from usr_harness.engines.profile import EngineProfile, load_profile
from usr_harness.engines.remotes import RemoteSpec, RemoteWiring, release_wiring, wire_remote
from usr_harness.errors import INTERRUPTED_EXIT, UsageError

SECTIONS = ("primary", "meta", ".events.log", "_snapshots", "_derived", "_auxiliary")
OWN_CLI = "python -m usr_harness.cli.usr"
TEXT_TAIL = 2000
#: One command's bound when nobody sets one (drills take theirs from the scale).
DEFAULT_HANG_SECONDS = 600.0
_CALLS = [0]
_CALLS_LOCK = threading.Lock()


def engine_calls() -> int:
    """Engine commands this process has run or started so far: a drill that ran none judged nothing."""
    return _CALLS[0]


def _count_call() -> None:
    with _CALLS_LOCK:
        _CALLS[0] += 1


@dataclass(frozen=True)
class EngineResult:
    """What one engine command did, as the drills read it; `argv` is the command line as run."""

    argv: tuple[str, ...]
    exit_code: int
    family: str | None
    audit: dict | None
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    @property
    def data(self) -> dict[str, Any]:
        return {} if self.audit is None else self.audit.get("data", {})

    @property
    def transfer_state(self) -> str | None:
        return self.data.get("transfer_state")

    @property
    def up_to_date(self) -> bool | None:
        """The audit's own `up_to_date`, else no section `changed` (engines that omit the summary)."""
        if self.audit is None:
            return None
        if "up_to_date" in self.data:
            return bool(self.data["up_to_date"])
        return not any(self.data.get(section, {}).get("changed") for section in SECTIONS)

    @property
    def message(self) -> str:
        return self.stderr if self.stderr.strip() else self.stdout

    def outcome(self) -> str:
        """Exit, transfer state and the message's tail, for a drill's failure line."""
        return f"exit {self.exit_code}, {self.transfer_state or 'no transfer state'}: {self.message[-300:]}"

    def evidence(self) -> dict[str, Any]:
        """What a maintainer needs to see of this call: command, outcome and the engine's words."""
        return {
            "command": shlex.join(self.argv),
            "exit_code": self.exit_code,
            "family": self.family,
            "transfer_state": self.transfer_state,
            "stderr_tail": self.stderr[-TEXT_TAIL:],
            "stdout_tail": "" if self.ok else self.stdout[-TEXT_TAIL:],
        }


@dataclass(frozen=True)
class _Call:
    """One engine command made ready: its words, the environment it adds, its audit and remote wiring."""

    asked: tuple[str, ...]
    argv: list[str]
    env: dict[str, str]
    audit: Path | None
    wiring: RemoteWiring | None


class EngineHung(Exception):
    """An engine command that did not finish within its bound: killed, and a fail that names it."""

    def __init__(
        self, asked: tuple[str, ...], shown: tuple[str, ...], seconds: float, out: str, err: str
    ) -> None:
        tail = (err.strip() or out.strip())[-TEXT_TAIL:]
        super().__init__(
            f"the engine's `{shlex.join(asked)}` did not finish within {seconds:g} s and was killed"
            + (f"; its last words: {tail}" if tail else "; it printed nothing")
            + f" (command: {shlex.join(shown)})"
        )
        self.shown = shown
        self.seconds = seconds


class Engine:
    """An engine under a profile, rooted at one local datasets root, talking to one remote."""

    def __init__(
        self,
        profile: EngineProfile,
        root: Path,
        *,
        command: str | None = None,
        remote: RemoteSpec | None = None,
        remotes_config: Path | None = None,
        workdir: Path | None = None,
        hang_seconds: float = DEFAULT_HANG_SECONDS,
    ) -> None:
        self.profile = profile
        self.hang_seconds = hang_seconds
        self.root = Path(root)
        self.command = command or profile.command
        self.remote = remote
        self.remotes_config = remotes_config
        self.workdir = workdir
        if workdir is not None:
            Path(workdir).mkdir(parents=True, exist_ok=True)
        if profile.runner == "command" and not self.command:
            raise UsageError(f"engine profile {profile.name} runs a command: give --engine-cmd")

    @property
    def name(self) -> str:
        return self.profile.name

    def missing(self, *capabilities: str) -> str | None:
        return self.profile.missing(*capabilities)

    def run(self, *args: str, audit: bool = False, env: dict[str, str] | None = None) -> EngineResult:
        _count_call()
        with tempfile.TemporaryDirectory(prefix="usr-engine-", dir=self.workdir) as scratch:
            call = self._prepare(Path(scratch), args, audit, env)
            in_process = self.profile.runner == "in-process" and env is None and not call.env
            if not in_process:
                return self._launch(Path(scratch), call).finish(self.hang_seconds)
            code, out, err = self._in_process(call.argv)  # no wiring env: no ssh master to stop
            audit_json = _read_audit(call.audit) if call.audit is not None else None
            return self._result(tuple(call.argv), code, out, err, audit_json)

    def start(self, *args: str, audit: bool = False, env: dict[str, str] | None = None) -> RunningCommand:
        """Start a command in a process of its own and return at once, so a drill can stop or kill it."""
        _count_call()
        scratch = Path(tempfile.mkdtemp(prefix="usr-engine-", dir=self.workdir))
        return self._launch(scratch, self._prepare(scratch, args, audit, env or {}))

    def _prepare(
        self, scratch: Path, args: tuple[str, ...], audit: bool, env: dict[str, str] | None
    ) -> _Call:
        wiring = self._wiring(scratch)
        argv = [*self.profile.global_args, "--root", str(self.root)]
        if wiring is not None:
            argv += ["--remotes-config", str(wiring.remotes_config)]
        argv += list(args)
        audit_path = scratch / "audit.json" if audit else None
        if audit_path is not None:
            argv += ["--audit-json-out", str(audit_path)]
        extra = {**self.profile.env, **(wiring.env if wiring else {}), **(env or {})}
        return _Call(args, argv, extra, audit_path, wiring)

    def _launch(self, scratch: Path, call: _Call) -> RunningCommand:
        command = shlex.split(self.command or OWN_CLI)
        if command[0] == "python":
            command = [sys.executable, *command[1:]]
        process = subprocess.Popen(
            [*command, *call.argv],
            env={**os.environ, **call.env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        shown = (*shlex.split(self.command or OWN_CLI), *call.argv)
        return RunningCommand(self, process, shown, scratch, call)

    def _result(
        self, shown: tuple[str, ...], code: int, out: str, err: str, audit: dict | None
    ) -> EngineResult:
        family = self.profile.outcome.family(code, audit, err if err.strip() else out)
        return EngineResult(shown, code, family, audit, out, err)

    def diff(self, dataset: str, remote: str, *flags: str) -> EngineResult:
        return self.run("diff", dataset, remote, *flags, audit=True)

    def pull(self, dataset: str, remote: str, *flags: str, env: dict[str, str] | None = None) -> EngineResult:
        return self.run("pull", dataset, remote, "-y", *flags, audit=True, env=env)

    def push(self, dataset: str, remote: str, *flags: str, env: dict[str, str] | None = None) -> EngineResult:
        return self.run("push", dataset, remote, "-y", *flags, audit=True, env=env)

    def events_merge(self, dataset: str, remote: str) -> EngineResult:
        return self.run("events", "merge", dataset, remote)

    def validate(self, dataset: str, *flags: str) -> EngineResult:
        return self.run(*self.profile.argv("validate", dataset=dataset), *flags)

    def attach(self, dataset: str, path: Path, namespace: str, key: str = "id") -> EngineResult:
        """`usr attach` of one overlay file, in the profile's own spelling."""
        words = self.profile.argv("attach", dataset=dataset, path=str(path), namespace=namespace, key=key)
        return self.run(*words)

    def import_file(self, dataset: str, path: Path, fmt: str = "parquet") -> EngineResult:
        """`usr import` of one records file, in the profile's own spelling."""
        return self.run(*self.profile.argv("import", dataset=dataset, path=str(path), format=fmt))

    def register_namespace(self, namespace: str, columns: str) -> EngineResult:
        """`usr namespace register NAME --columns name:type,...`, in the profile's own spelling."""
        return self.run(*self.profile.argv("namespace-register", namespace=namespace, columns=columns))

    def doctor(self, remote: str) -> EngineResult:
        if self.profile.doctor_style == "option":
            return self.run("remotes", "doctor", "--remote", remote)
        return self.run("remotes", "doctor", remote)

    def _wiring(self, scratch: Path) -> RemoteWiring | None:
        if self.remote is not None:
            return wire_remote(self.remote, self.profile.remote_style, scratch / "remote")
        if self.remotes_config is not None:
            return RemoteWiring(self.remotes_config, {})
        return None

    @staticmethod
    def _in_process(argv: list[str]) -> tuple[int, str, str]:
        from usr_harness.cli.usr.app import main

        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except Exception:  # the engine crashed: what its own process would show, exit 1 and traceback
                traceback.print_exc()
                code = 1
        if code == INTERRUPTED_EXIT:
            raise KeyboardInterrupt  # Ctrl-C reached the engine in our own process: it was meant for us too
        return code, out.getvalue(), err.getvalue()


class RunningCommand:
    """An engine command running in its own process; `finish` waits and reads it like `Engine.run`."""

    def __init__(
        self,
        engine: Engine,
        process: subprocess.Popen,
        shown: tuple[str, ...],
        scratch: Path,
        call: _Call,
    ) -> None:
        self.engine = engine
        self.process = process
        self.shown = shown
        self._scratch = scratch
        self._call = call

    @property
    def pid(self) -> int:
        return self.process.pid

    def finish(self, timeout: float | None = None) -> EngineResult:
        """Wait for the command (at most `timeout`, default the engine's hang bound) and read it."""
        seconds = self.engine.hang_seconds if timeout is None else timeout
        hung = False
        try:
            try:
                out, err = self.process.communicate(timeout=seconds)
            except subprocess.TimeoutExpired:
                hung = True
                self.process.kill()
                out, err = self.process.communicate()
            audit = None if self._call.audit is None else _read_audit(self._call.audit)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.communicate()
            release_wiring(self._call.wiring)
            shutil.rmtree(self._scratch, ignore_errors=True)
        if hung:
            raise EngineHung(self._call.asked, self.shown, seconds, out, err)
        return self.engine._result(self.shown, self.process.returncode, out, err, audit)


def _read_audit(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except ValueError:
        return {"unreadable_audit": path.read_text(encoding="utf-8", errors="replace")[:TEXT_TAIL]}


def make_engine(
    root: Path,
    *,
    profile: str | Path | None = None,
    engine_cmd: str | None = None,
    remote: RemoteSpec | None = None,
    remotes_config: Path | None = None,
    workdir: Path | None = None,
    hang_seconds: float = DEFAULT_HANG_SECONDS,
) -> Engine:
    """The engine the options name: `--engine-profile`, else bundled, or usr-cli for a bare command."""
    chosen = load_profile(profile or ("usr-cli" if engine_cmd else None))
    return Engine(
        chosen,
        root,
        command=engine_cmd,
        remote=remote,
        remotes_config=remotes_config,
        workdir=workdir,
        hang_seconds=hang_seconds,
    )
