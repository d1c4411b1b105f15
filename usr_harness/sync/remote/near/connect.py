"""Start the remote agent for a profile: over paramiko (default), the system OpenSSH client, or locally.

Either way the engine gets one AgentClient on one connection. The OpenSSH path
honours the ssh_config files (ProxyJump, ControlMaster, agent keys), so sites
whose logins need a second factor work after one interactive `warm-auth`.
Whatever the config says, host keys are checked strictly against the
profile's known_hosts only, and ssh never learns or rewrites a key.
`client: local` runs the same agent bundle as a local child over pipes, the
way borg's `__testsuite__` remote runs its real `serve`: tests without an
sshd, and a second disk on the same machine.
"""

from __future__ import annotations

import os
import pwd
import shlex
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from usr_harness.errors import AuthError, ConfigError, TransportError, UsrError
from usr_harness.sync.remote.near.bundle import agent_command
from usr_harness.sync.remote.near.ciphers import FAST_CIPHERS
from usr_harness.sync.remote.near.client import AgentClient, launch_over_session
from usr_harness.sync.remote.near.process_channel import ProcessChannel
from usr_harness.sync.remote.near.profiles import RemoteProfile
from usr_harness.sync.remote.near.prompt_socket import CONNECT_TIMEOUT_SECONDS, early_socket

_SSH_FAILED = 255
_HOST_KEY_REFUSALS = (
    "host key verification failed",
    "remote host identification has changed",
    "host key is known for",
)
_CONFIG_FAILURES = ("bad configuration option", "can't open user config file", "bad configuration options")


def ssh_config_args() -> list[str]:
    """`-F $HOME/.ssh/config` when $HOME is not ssh's own home, else nothing.

    ssh reads ~/.ssh/config from the passwd entry and ignores $HOME, while every
    other `~` in usr follows $HOME. Only when the two differ (sudo -E, test
    sandboxes) is the file named explicitly; otherwise ssh reads its usual
    files, system-wide ones included.
    """
    home = os.environ.get("HOME")
    if not home:
        return []
    config = Path(home) / ".ssh" / "config"
    try:
        own_home = pwd.getpwuid(os.getuid()).pw_dir
    except KeyError:
        own_home = ""
    if Path(home).absolute() == Path(own_home).absolute() or not config.is_file():
        return []
    return ["-F", str(config)]


def openssh_options(profile: RemoteProfile, *, batch: bool | None = None) -> list[str]:
    """`ssh` and every option naming the profile's endpoint and trust, without the host itself.

    `batch` overrides the profile's batch_mode (warm-auth must be able to prompt).
    """
    argv = ["ssh", *ssh_config_args(), "-p", str(profile.port), "-l", profile.user]
    argv += ["-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={profile.known_hosts_path()}"]
    argv += ["-o", "GlobalKnownHostsFile=/dev/null", "-o", "UpdateHostKeys=no"]
    argv += ["-o", f"ConnectTimeout={CONNECT_TIMEOUT_SECONDS}"]
    if profile.batch_mode if batch is None else batch:
        argv += ["-o", "BatchMode=yes"]
    key = profile.key_path()
    if key is not None:
        argv += ["-i", str(key), "-o", "IdentitiesOnly=yes"]
    return argv


def fast_cipher_options(options: list[str], host: str) -> list[str]:
    """`-o Ciphers=` with AES-GCM first, unless an ssh_config already chooses this host's ciphers.

    OpenSSH's default order puts chacha20-poly1305 first; with AES instructions AES-GCM
    moved a 1 GiB pull 0.5 s faster. A Ciphers line in the user's or the system's config
    (crypto policies, say) is the site's choice and is left alone; so is an ssh too old for -G.
    """
    configured = _effective_ciphers([*options, "-G", host])
    default = _effective_ciphers(["ssh", "-F", "none", "-G", host])
    if configured is None or configured != default:
        return []
    preferred = [c for c in FAST_CIPHERS if c in default] + [c for c in default if c not in FAST_CIPHERS]
    return ["-o", "Ciphers=" + ",".join(preferred)]


def _effective_ciphers(argv: list[str]) -> list[str] | None:
    try:
        shown = subprocess.run(argv, capture_output=True, text=True, timeout=CONNECT_TIMEOUT_SECONDS)
    except (OSError, subprocess.TimeoutExpired):
        return None
    for line in shown.stdout.splitlines():
        if line.startswith("ciphers "):
            return line.split(" ", 1)[1].split(",")
    return None


def openssh_argv(profile: RemoteProfile, remote_command: str | None = None) -> list[str]:
    """`ssh` with host keys checked strictly against the profile's known_hosts.

    No pty (a pty would translate the binary protocol's bytes), no agent or X11
    forwarding, and no port forwards from the config, so the child's stdout
    carries nothing but the remote command's output.
    """
    argv = openssh_options(profile)
    argv += fast_cipher_options(argv, profile.host)
    argv += ["-T", "-x", "-a", "-o", "ClearAllForwardings=yes", profile.host]
    if remote_command is not None:
        argv += ["--", remote_command]
    return argv


def _describe(profile: RemoteProfile) -> str:
    return f"remote {profile.name} ({profile.target})"


def _openssh_failure(profile: RemoteProfile, channel: ProcessChannel, cause: TransportError) -> UsrError:
    """Map what ssh printed to the family an operator acts on; `cause` is the agent-side symptom.

    Exit code 255 is ssh's own failure, so the agent's guess about python is dropped.
    """
    stderr, exit_code = channel.stderr_text(), channel.process.returncode
    lines = [line for line in stderr.splitlines() if line.strip() and not line.startswith("@")]
    if not lines:
        return cause
    last = lines[-1].strip()
    lowered = stderr.lower()
    where = _describe(profile)
    known_hosts = profile.known_hosts_path()
    if "remote host identification has changed" in lowered:
        return AuthError(
            f"{where}: host key for {profile.host_key_name} does not match known_hosts {known_hosts} "
            f"({last}). This may be an attack; if the host key was changed on purpose, remove the old "
            f"entry (ssh-keygen -R '{profile.host_key_name}' -f {known_hosts}) and run "
            f"`usr remotes trust {profile.name}`",
            paths=[str(known_hosts)],
        )
    if any(marker in lowered for marker in _HOST_KEY_REFUSALS):
        return AuthError(
            f"{where}: host key for {profile.host_key_name} is not known ({last}); run "
            f"`usr remotes trust {profile.name}` to check its fingerprint and record it in {known_hosts}",
            paths=[str(known_hosts)],
        )
    if "permission denied" in lowered or "too many authentication failures" in lowered:
        hint = "check that the profile's key is in the remote user's authorized_keys"
        if "bad permissions" in lowered or "unprotected private key" in lowered:
            hint = "ssh ignored the private key because other users can read it: chmod 600 it"
        elif "keyboard-interactive" in last:
            hint = (
                f"the server wants a second factor: log in once with `usr remotes warm-auth {profile.name}`"
            )
        return AuthError(f"{where}: authentication refused ({last}); {hint}")
    if any(marker in lowered for marker in _CONFIG_FAILURES):
        return ConfigError(f"{where}: ssh configuration: {last}")
    if exit_code == _SSH_FAILED:
        return TransportError(f"{where}: {last}")
    return TransportError(f"{cause.message}; ssh said: {last}")


def _local_failure(profile: RemoteProfile, channel: ProcessChannel, cause: TransportError) -> TransportError:
    """A local agent that ended before its hello: the agent-side symptom plus the child's last word."""
    lines = [line.strip() for line in channel.stderr_text().splitlines() if line.strip()]
    if not lines or lines[-1] in cause.message:
        return cause
    return TransportError(f"{cause.message}; {profile.python} said: {lines[-1]}")


def local_argv(profile: RemoteProfile) -> list[str]:
    """The agent's own command line, word for word the one the ssh paths hand the remote shell."""
    return shlex.split(agent_command(profile.python))


def _local_channel(profile: RemoteProfile) -> ProcessChannel:
    try:
        return ProcessChannel(local_argv(profile))
    except OSError as error:
        reason = error.strerror or str(error)
        raise TransportError(f"{_describe(profile)}: cannot run {profile.python}: {reason}") from None


@contextmanager
def connect_agent(
    profile: RemoteProfile, on_login: Callable[[], None] = lambda: None
) -> Iterator[AgentClient]:
    """One connection, one agent channel, closed on exit whatever happens.

    `on_login` is called once this process has no more login work of its own: after paramiko's
    import and authentication, or at once when another process (ssh, the local agent) does it.
    """
    if profile.client != "paramiko":
        on_login()
    if profile.client == "openssh":
        channel = ProcessChannel(openssh_argv(profile, agent_command(profile.python)))
        with _process_agent(profile, channel, _openssh_failure) as agent:
            yield agent
        return
    if profile.client == "local":
        with _process_agent(profile, _local_channel(profile), _local_failure) as agent:
            yield agent
        return
    begun = time.perf_counter()
    profile.existing_key_path()  # a missing key is refused before any connection, as open_session does
    sock = early_socket(profile)
    try:
        from usr_harness.sync.remote.near.session import open_session  # paramiko: only for this client

        session = open_session(profile, sock=sock)
    except BaseException:
        if sock is not None:
            sock.close()  # a key refused before paramiko's connect leaves it open; twice is harmless
        raise
    with session:
        login = time.perf_counter() - begun
        on_login()
        agent = launch_over_session(session, profile.python, profile.base_dir, _describe(profile))
        agent.stats.connect["ssh connect+auth"] = login
        try:
            yield agent
        finally:
            agent.close()


@contextmanager
def _process_agent(
    profile: RemoteProfile,
    channel: ProcessChannel,
    explain: Callable[[RemoteProfile, ProcessChannel, TransportError], UsrError],
) -> Iterator[AgentClient]:
    """The agent behind a child's pipes; `explain` names a failed start's family once the child ended."""
    try:
        agent = AgentClient.start(channel, profile.base_dir, _describe(profile))
    except TransportError as error:
        channel.close()
        raise explain(profile, channel, error) from None
    except BaseException:
        channel.close()
        raise
    try:
        yield agent
    finally:
        agent.close()
