"""Start the remote agent for a profile: over paramiko (default) or the system OpenSSH client.

Either way the engine gets one AgentClient on one connection. The OpenSSH path
honours ~/.ssh/config (ProxyJump, ControlMaster, agent keys), so sites whose
logins need a second factor work after one interactive `warm-auth`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from usr_harness.errors import AuthError, ConfigError, TransportError, UsrError
from usr_harness.sync.remote.bundle import agent_command
from usr_harness.sync.remote.client import AgentClient, launch_over_session
from usr_harness.sync.remote.process_channel import ProcessChannel
from usr_harness.sync.remote.profiles import RemoteProfile
from usr_harness.sync.remote.session import open_session


def openssh_argv(profile: RemoteProfile, remote_command: str | None = None) -> list[str]:
    """`ssh` with host keys checked strictly against the profile's known_hosts."""
    argv = ["ssh", "-p", str(profile.port), "-o", "StrictHostKeyChecking=yes"]
    argv += ["-o", f"UserKnownHostsFile={profile.known_hosts_path()}"]
    if profile.batch_mode:
        argv += ["-o", "BatchMode=yes"]
    key = profile.key_path()
    if key is not None:
        argv += ["-i", str(key), "-o", "IdentitiesOnly=yes"]
    argv += ["-l", profile.user, profile.host]
    if remote_command is not None:
        argv += ["--", remote_command]
    return argv


def _describe(profile: RemoteProfile) -> str:
    return f"remote {profile.name} ({profile.target})"


def _openssh_failure(profile: RemoteProfile, stderr: str) -> UsrError:
    text = stderr.strip().splitlines()[-1] if stderr.strip() else "ssh exited"
    lowered = stderr.lower()
    if "host key verification failed" in lowered or "remote host identification has changed" in lowered:
        return AuthError(
            f"{_describe(profile)}: host key refused ({text}); run `usr remotes trust {profile.name}`"
        )
    if "permission denied" in lowered:
        return AuthError(f"{_describe(profile)}: authentication refused ({text})")
    if "does not exist" in lowered:
        return ConfigError(f"{_describe(profile)}: {text}")
    return TransportError(f"{_describe(profile)}: {text}")


@contextmanager
def connect_agent(profile: RemoteProfile) -> Iterator[AgentClient]:
    """One connection, one agent channel, closed on exit whatever happens."""
    if profile.client == "openssh":
        command = agent_command(profile.python)
        channel = ProcessChannel(openssh_argv(profile, command))
        try:
            agent = AgentClient.start(channel, profile.base_dir, _describe(profile))
        except TransportError:
            channel.close()
            raise _openssh_failure(profile, channel.stderr_text()) from None
        try:
            yield agent
        finally:
            agent.close()
        return
    with open_session(profile) as session:
        agent = launch_over_session(session, profile.python, profile.base_dir, _describe(profile))
        try:
            yield agent
        finally:
            agent.close()
