"""A throwaway OpenSSH server on 127.0.0.1: the default remote for tests, drills and benchmarks.

The system `sshd` runs with its own host key, client key, authorized_keys,
known_hosts and config in a private 0700 folder, so the machine's SSH setup is
never read or touched and the engine is exercised through real OpenSSH exactly
as it would be against an HPC login node. Everything stays in the folder after
`stop()`, the log above all: it is evidence (and `connection_count()` reads it).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from usr_harness.errors import AuthError, ConfigError, TransportError
from usr_harness.hosts.processes import (
    children_of,
    command_line,
    kill_processes,
    pid_alive,
    processes_marked,
    stop_pid,
)
from usr_harness.hosts.sshd_host import SshdHost
from usr_harness.sync.remote import open_session

PRIVSEP_DIR = Path("/run/sshd")
_BIND_RACE_ATTEMPTS = 5
_BIND_FAILURES = ("Address already in use", "Cannot bind any address")
HOST_MARK = "USR_HARNESS_LOOPBACK_HOST"
"""Set by sshd in every login to a loopback host: the host's folder."""
_SYSTEM_PATH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")


class LoopbackSshd(SshdHost):
    """Start with `start()` or `with`; `detach=True` lets the server outlive this process."""

    provider = "loopback"

    def __init__(
        self,
        workdir: Path | None = None,
        *,
        sshd_binary: str = "/usr/sbin/sshd",
        detach: bool = False,
        start_timeout: float = 15.0,
    ) -> None:
        super().__init__(Path(workdir or tempfile.mkdtemp(prefix="usr-loopback-")))
        self.sshd_binary = sshd_binary
        self.detach = detach
        self.start_timeout = start_timeout
        self.pid: int | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self.log_path = self.workdir / "sshd.log"
        self.pid_file = self.workdir / "sshd.pid"
        self.state_path = self.workdir / "host.json"

    @classmethod
    def attach(cls, workdir: Path) -> LoopbackSshd | None:
        """The host a previous `start()` recorded in `workdir`, or None when there is no record."""
        workdir = Path(workdir).absolute()
        try:
            state = json.loads((workdir / "host.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            raise ConfigError(f"unreadable host state {workdir / 'host.json'}: {error}") from None
        host = cls(workdir, sshd_binary=state["sshd_binary"], detach=state["detach"])
        host.port, host.pid = state["port"], state["pid"]
        return host

    @property
    def running(self) -> bool:
        """True while our sshd runs: its pid is alive and its (retitled) command line names our config."""
        if self._process is not None:
            return self._process.poll() is None
        if self.pid is None or not pid_alive(self.pid):
            return False
        argv = command_line(self.pid)
        return not argv or any(str(self.config_path) in part for part in argv)

    def start(self) -> LoopbackSshd:
        """Create keys and config, start sshd on a free port, return once a real SSH login works."""
        if self.running:
            return self
        binary = Path(self.sshd_binary)
        if not binary.is_absolute() or not os.access(binary, os.X_OK):
            raise ConfigError(f"sshd must be an executable absolute path (sshd re-execs itself): {binary}")
        self._prepare_folder()
        for _ in range(_BIND_RACE_ATTEMPTS):
            self.port = _free_port()
            self._write_port_files()
            self._check_config()
            if self._wait_until_ready(self._launch()):
                self._write_state()
                return self
        raise TransportError(
            f"loopback sshd could not bind a port in {_BIND_RACE_ATTEMPTS} attempts; see {self.log_path}",
            paths=[str(self.log_path)],
        )

    def stop(self) -> None:
        """Stop the server by its own pid (never by name), then every process a login to it started
        that still runs, and its sessions (a client's ssh master can hold one open for minutes);
        folder, log and base_dir stay."""
        sessions = children_of(self.pid) if self.pid is not None and self.running else []
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        elif self.running and self.pid is not None:
            stop_pid(self.pid)
        kill_processes(processes_marked(HOST_MARK, str(self.workdir)) + sessions)
        self.pid = None
        if self.state_path.exists():
            self._write_state()

    def connection_count(self) -> int:
        """TCP connections sshd accepted so far (its `Connection from` log lines)."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return 0
        return sum(1 for line in text.splitlines() if line.startswith("Connection from "))

    def _prepare_folder(self) -> None:
        self._write_keys()
        if os.geteuid() == 0:
            PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
        self.log_path.write_text("", encoding="utf-8")

    def _write_port_files(self) -> None:
        self._write_known_hosts()
        self._write_sshd_config(
            f"ListenAddress {self.host}",
            f"Port {self.port}",
            f"HostKey {self.host_key_path}",
            f"AuthorizedKeysFile {self.authorized_keys_path}",
            f"AllowUsers {self.user}",
            f"PidFile {self.pid_file}",
            self._login_environment(),
        )

    def _login_environment(self) -> str:
        """A login that does not read the account's shell rc files, with the host's Python first on
        PATH: the drill host is this machine as a cluster would present it, not whatever the
        account's `.bashrc` puts first (pyenv shims, for one). bash reads `.bashrc` under sshd only
        at shell level 1, so a login given SHLVL=1 starts at level 2 and skips it. `HOST_MARK`
        names this host in every process a login starts, so `stop` can find them all."""
        path = os.pathsep.join([str(Path(self.remote_python).parent), *_SYSTEM_PATH])
        return f'SetEnv SHLVL=1 "PATH={path}" "{HOST_MARK}={self.workdir}"'

    def _check_config(self) -> None:
        result = subprocess.run(
            [self.sshd_binary, "-t", "-f", str(self.config_path)], capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise ConfigError(
                f"sshd rejected {self.config_path}: {result.stderr.strip() or result.stdout.strip()}",
                paths=[str(self.config_path)],
            )

    def _launch(self) -> int:
        """Start sshd; returns where this launch's lines begin in the log (taken before the start:
        an sshd that loses the bind race can log it and exit before anyone looks)."""
        self.pid_file.unlink(missing_ok=True)
        log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        argv = [self.sshd_binary, "-f", str(self.config_path), "-E", str(self.log_path)]
        if not self.detach:
            argv.insert(1, "-D")
        self._process = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        return log_offset

    def _wait_until_ready(self, log_offset: int) -> bool:
        """True once a login works; False on a lost bind race; raises when sshd fails otherwise."""
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._exited_early():
                log = self._log_since(log_offset)
                if any(marker in log for marker in _BIND_FAILURES):
                    return False
                raise TransportError(f"loopback sshd exited at start: {log.strip()[-800:]}")
            if self.pid is not None and self._login_works(deadline):
                return True
            time.sleep(0.02)
        self.stop()
        raise TransportError(
            f"loopback sshd did not accept a login within {self.start_timeout:g} s; see {self.log_path}",
            paths=[str(self.log_path)],
        )

    def _exited_early(self) -> bool:
        """Track the launch: in detached mode the launcher exits 0 once sshd forked into the background."""
        assert self._process is not None
        code = self._process.poll()
        if code is None:
            self.pid = self._process.pid if self.pid_file.exists() else None
            return False
        if code != 0 or not self.detach:
            self._process = None
            return True
        try:
            self.pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return False
        self._process = None
        return False

    def _login_works(self, deadline: float) -> bool:
        try:
            with open_session(
                self.profile(), connect_timeout=max(min(deadline - time.monotonic(), 5.0), 0.1)
            ):
                return True
        except AuthError as error:
            self.stop()
            log_tail = " | ".join(self._log_since(0).strip().splitlines()[-4:])
            raise TransportError(
                f"loopback sshd refused our own key ({error}); its log ends: {log_tail}",
                paths=[str(self.log_path)],
            ) from None
        except TransportError:
            return False

    def _log_since(self, offset: int) -> str:
        with self.log_path.open("rb") as handle:
            handle.seek(offset)
            return handle.read().decode(errors="replace")

    def _write_state(self) -> None:
        state = {
            "pid": self.pid,
            "port": self.port,
            "host": self.host,
            "user": self.user,
            "detach": self.detach,
            "sshd_binary": self.sshd_binary,
            "workdir": str(self.workdir),
            "base_dir": str(self.base_dir),
            "log": str(self.log_path),
            "updated_at": datetime.now(UTC).isoformat(),
        }
        self.state_path.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")


def _free_port() -> int:
    """A port the kernel just handed out; sshd may still lose it to a race, which start() retries."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
