"""One interface over any `usr`-compatible engine, so the same drills judge any implementation.

Drills never reach into engine internals: they pass the runbook's flags
(`--root`, `--remotes-config`, `--audit-json-out`) and read back the exit code,
the error family, the audit JSON and the output.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from usr_harness.errors import ALL_FAMILIES

_FAMILY_BY_CODE = {cls.exit_code: cls.family for cls in ALL_FAMILIES}
_FAMILY_IN_TEXT = re.compile(r"error\[([a-z]+)\]")


@dataclass(frozen=True)
class EngineResult:
    exit_code: int
    family: str | None
    audit: dict | None
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    @property
    def transfer_state(self) -> str | None:
        return None if self.audit is None else self.audit.get("data", {}).get("transfer_state")


def _family(code: int, audit: dict | None, stderr: str) -> str | None:
    if code == 0:
        return None
    if audit and isinstance(audit.get("data", {}).get("error"), dict):
        return audit["data"]["error"].get("family")
    match = _FAMILY_IN_TEXT.search(stderr)
    if match:
        return match.group(1)
    return _FAMILY_BY_CODE.get(code, "unknown")


class Engine:
    """Base: builds the runbook command lines; subclasses only decide how to execute them."""

    name = "engine"

    def __init__(self, root: Path, remotes_config: Path | None = None) -> None:
        self.root = Path(root)
        self.remotes_config = remotes_config

    def _execute(self, argv: list[str], env: dict[str, str] | None) -> tuple[int, str, str]:
        raise NotImplementedError

    def run(self, *args: str, audit: bool = False, env: dict[str, str] | None = None) -> EngineResult:
        argv = ["--root", str(self.root)]
        if self.remotes_config is not None:
            argv += ["--remotes-config", str(self.remotes_config)]
        argv += list(args)
        with tempfile.TemporaryDirectory(prefix="usr-engine-") as scratch:
            audit_path = Path(scratch, "audit.json")
            if audit:
                argv += ["--audit-json-out", str(audit_path)]
            code, out, err = self._execute(argv, env)
            payload = json.loads(audit_path.read_text()) if audit and audit_path.exists() else None
        return EngineResult(code, _family(code, payload, err), payload, out, err)

    def diff(self, dataset: str, remote: str, *flags: str) -> EngineResult:
        return self.run("diff", dataset, remote, *flags, audit=True)

    def pull(self, dataset: str, remote: str, *flags: str, env: dict[str, str] | None = None) -> EngineResult:
        return self.run("pull", dataset, remote, "-y", *flags, audit=True, env=env)

    def push(self, dataset: str, remote: str, *flags: str, env: dict[str, str] | None = None) -> EngineResult:
        return self.run("push", dataset, remote, "-y", *flags, audit=True, env=env)

    def validate(self, dataset: str, *flags: str) -> EngineResult:
        return self.run("validate", dataset, *flags)

    def doctor(self, remote: str) -> EngineResult:
        return self.run("remotes", "doctor", remote)


class BundledEngine(Engine):
    """This package's engine, called in-process; with `env` (even empty) in a process of its own."""

    name = "bundled"

    def _execute(self, argv: list[str], env: dict[str, str] | None) -> tuple[int, str, str]:
        if env is not None:
            return CommandEngine.run_process(["python", "-m", "usr_harness.cli.usr_app", *argv], env)
        from usr_harness.cli.usr_app import main

        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
        return code, out.getvalue(), err.getvalue()


class CommandEngine(Engine):
    """Any `usr`-compatible command line, e.g. `--engine-cmd "usr"` or another installation."""

    name = "command"

    def __init__(self, command: str, root: Path, remotes_config: Path | None = None) -> None:
        super().__init__(root, remotes_config)
        self.command = shlex.split(command)

    @staticmethod
    def run_process(argv: list[str], env: dict[str, str] | None) -> tuple[int, str, str]:
        if argv[0] == "python":
            argv = [sys.executable, *argv[1:]]
        done = subprocess.run(
            argv, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=600
        )
        return done.returncode, done.stdout, done.stderr

    def _execute(self, argv: list[str], env: dict[str, str] | None) -> tuple[int, str, str]:
        return self.run_process([*self.command, *argv], env)


def engine_from_cmd(engine_cmd: str | None, root: Path, remotes_config: Path | None) -> Engine:
    if engine_cmd:
        return CommandEngine(engine_cmd, root, remotes_config)
    return BundledEngine(root, remotes_config)
