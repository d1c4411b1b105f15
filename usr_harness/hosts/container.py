"""An OpenSSH host in a throwaway Docker container, started through testcontainers.

The same strict sshd as the loopback host, but on another distribution: Debian
bullseye or bookworm with its stock python3 (no pyarrow), its own users and paths,
as an HPC login node would be. The image comes from Debian's packages
(`debian_image`), never from an image registry. The harness writes the keys and
config on this side and mounts them read-only; the remote base_dir is mounted at
the same absolute path inside, so drills read the remote tree from here exactly as
they do for the loopback host. Files the container writes belong to its root user.

Ryuk, testcontainers' reaper, is itself an image from a registry: it stays off, and
every container carries labels naming its owner, so `remove_orphans` (and
scripts/docker.sh) remove what a killed run left behind.
"""

from __future__ import annotations

import os
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

from usr_harness.errors import AuthError, ConfigError, TransportError
from usr_harness.hosts.debian_image import (
    DEFAULT_SUITE,
    ImageBuild,
    ImageRecipe,
    build_unavailable,
    docker_unavailable,
    ensure_image,
)
from usr_harness.hosts.processes import pid_alive
from usr_harness.hosts.sshd_host import SshdHost
from usr_harness.sync.remote import open_session

CONFIG_MOUNT = "/etc/usr-harness"
REMOTE_PYTHON = "/usr/bin/python3"
SSH_PORT = 22
HOST_LABEL = "org.usr-harness.host"
OWNER_LABEL = "org.usr-harness.owner"
_FACTS_SCRIPT = (
    '. /etc/os-release; echo "$PRETTY_NAME"; python3 -c "import platform; print(platform.python_version())"'
)


def container_unavailable(suite: str = DEFAULT_SUITE) -> str | None:
    """Why a `suite` container host cannot start here: no Docker, or no image and no way to build it."""
    reason = docker_unavailable()
    if reason:
        return reason
    import docker

    client = docker.from_env()
    try:
        return build_unavailable(ImageRecipe.for_suite(suite), client)
    finally:
        client.close()


def owner_label() -> str:
    """`hostname:pid` of this process: a container whose owner is gone is an orphan."""
    return f"{socket.gethostname()}:{os.getpid()}"


def remove_orphans(client: Any) -> list[str]:
    """Remove this machine's host containers whose owning process has ended; return their names."""
    removed = []
    here = socket.gethostname() + ":"
    for container in client.containers.list(all=True, filters={"label": HOST_LABEL}):
        owner = container.labels.get(OWNER_LABEL, "")
        pid = owner.removeprefix(here)
        if owner.startswith(here) and pid.isdigit() and not pid_alive(int(pid)):
            container.remove(force=True, v=True)
            removed.append(container.name)
    return removed


class ContainerSshd(SshdHost):
    """Start with `start()` or `with`; `stop()` removes the container, the folder stays as evidence."""

    provider = "container"

    def __init__(
        self, workdir: Path | None = None, *, suite: str = DEFAULT_SUITE, start_timeout: float = 60.0
    ) -> None:
        super().__init__(
            Path(workdir or tempfile.mkdtemp(prefix="usr-container-")),
            user="root",
            remote_python=REMOTE_PYTHON,
        )
        self.recipe = ImageRecipe.for_suite(suite)
        self.start_timeout = start_timeout
        # Host key, authorized_keys and config live in the folder mounted read-only at CONFIG_MOUNT.
        self.config_dir = self.workdir / "etc"
        self.host_key_path = self.config_dir / self.host_key_path.name
        self.authorized_keys_path = self.config_dir / self.authorized_keys_path.name
        self.config_path = self.config_dir / self.config_path.name
        self.image: ImageBuild | None = None
        self.start_seconds: float | None = None
        self._facts: dict[str, str] = {}
        self._container: Any = None

    def start(self) -> ContainerSshd:
        """Build the image when missing, start sshd in it, return once a real SSH login works."""
        reason = docker_unavailable()
        if reason:
            raise ConfigError(f"container provider: {reason}")
        import docker
        from testcontainers.core.config import testcontainers_config
        from testcontainers.core.container import DockerContainer

        testcontainers_config.ryuk_disabled = True
        client = docker.from_env()
        try:
            remove_orphans(client)
            self.image = ensure_image(self.recipe, client)
        finally:
            client.close()
        started = time.monotonic()
        self._prepare_folder()
        container = (
            DockerContainer(self.image.tag)
            .with_volume_mapping(str(self.config_dir), CONFIG_MOUNT, "ro")
            .with_volume_mapping(str(self.base_dir), str(self.base_dir), "rw")
            .with_kwargs(labels={HOST_LABEL: self.recipe.suite, OWNER_LABEL: owner_label()})
        )
        # A free port on 127.0.0.1 only: `with_bind_ports` takes no address, docker's (address,) form does.
        container.ports[f"{SSH_PORT}/tcp"] = (self.host,)
        self._container = container.start()
        self.port = int(container.get_exposed_port(SSH_PORT))
        self._write_known_hosts()
        self._wait_until_ready()
        self.start_seconds = round(time.monotonic() - started, 2)
        return self

    def stop(self) -> None:
        if self._container is not None:
            self._container.stop()
            self._container = None

    def describe(self) -> dict[str, str]:
        """The container's own OS and python3 (asked inside it once), and the image it runs."""
        if not self._facts and self._container is not None:
            code, output = self._container.exec(["/bin/sh", "-c", _FACTS_SCRIPT])
            lines = output.decode(errors="replace").strip().splitlines()
            if code == 0 and len(lines) == 2:
                self._facts = {"os": lines[0], "python": lines[1]}
        facts = self._facts or {"os": "unknown", "python": "unknown"}
        return {"provider": self.provider, **facts, "image": self.recipe.tag}

    def connection_count(self) -> int:
        """TCP connections sshd accepted so far (its `Connection from` lines on stderr)."""
        if self._container is None:
            return 0
        _, stderr = self._container.get_logs()
        return sum(1 for line in stderr.decode(errors="replace").splitlines() if "Connection from " in line)

    def _prepare_folder(self) -> None:
        self.config_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._write_keys()
        self._write_sshd_config(
            f"Port {SSH_PORT}",
            f"HostKey {CONFIG_MOUNT}/{self.host_key_path.name}",
            f"AuthorizedKeysFile {CONFIG_MOUNT}/{self.authorized_keys_path.name}",
            f"AllowUsers {self.user}",
        )

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        last = "no attempt"
        while time.monotonic() < deadline:
            try:
                with open_session(self.profile(), connect_timeout=5.0):
                    return
            except AuthError as error:
                self.stop()
                raise TransportError(f"container sshd refused our own key: {error}") from None
            except TransportError as error:
                last = error.message
            time.sleep(0.2)
        self.stop()
        raise TransportError(
            f"container sshd did not accept a login within {self.start_timeout:g} s ({last})"
        )
