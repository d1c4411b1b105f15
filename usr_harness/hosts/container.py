"""An OpenSSH host in a throwaway Docker container, started through testcontainers.

The same strict sshd as the loopback host, but on another kernel's view of the
world: its own python3 (no pyarrow), its own users and paths. The harness writes
the keys and config on this side and mounts them read-only; the remote base_dir
is mounted at the same absolute path inside, so drills read the remote tree from
here exactly as they do for the loopback host. Files the container writes belong
to its root user.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from usr_harness.errors import AuthError, ConfigError, TransportError
from usr_harness.hosts.sshd_host import SshdHost
from usr_harness.sync.remote import open_session

IMAGE = "usr-harness-sshd:bookworm-1"
IMAGE_CONTEXT = Path(__file__).with_name("container_image")
CONFIG_MOUNT = "/etc/usr-harness"
REMOTE_PYTHON = "/usr/bin/python3"
SSH_PORT = 22


def docker_unavailable() -> str | None:
    """Why the container provider cannot run here, or None when Docker answers."""
    try:
        import docker
        import testcontainers.core.container  # noqa: F401
    except ImportError as error:
        return f"testcontainers is not installed ({error.name}); pip install 'usr-harness[containers]'"
    try:
        client = docker.from_env()
        try:
            client.ping()
        finally:
            client.close()
    except Exception as error:  # docker raises a zoo of types for "no daemon"
        return f"Docker does not answer ({str(error)[:200]})"
    return None


class ContainerSshd(SshdHost):
    """Start with `start()` or `with`; `stop()` removes the container, the folder stays as evidence."""

    provider = "container"

    def __init__(
        self, workdir: Path | None = None, *, image: str = IMAGE, start_timeout: float = 60.0
    ) -> None:
        super().__init__(
            Path(workdir or tempfile.mkdtemp(prefix="usr-container-")),
            user="root",
            remote_python=REMOTE_PYTHON,
        )
        self.image = image
        self.start_timeout = start_timeout
        # Host key, authorized_keys and config live in the folder mounted read-only at CONFIG_MOUNT.
        self.config_dir = self.workdir / "etc"
        self.host_key_path = self.config_dir / self.host_key_path.name
        self.authorized_keys_path = self.config_dir / self.authorized_keys_path.name
        self.config_path = self.config_dir / self.config_path.name
        self._container = None

    def start(self) -> ContainerSshd:
        """Build the image when missing, start sshd in it, return once a real SSH login works."""
        reason = docker_unavailable()
        if reason:
            raise ConfigError(f"container provider: {reason}")
        from testcontainers.core.container import DockerContainer

        self._prepare_folder()
        _ensure_image(self.image)
        container = (
            DockerContainer(self.image)
            .with_exposed_ports(SSH_PORT)
            .with_volume_mapping(str(self.config_dir), CONFIG_MOUNT, "ro")
            .with_volume_mapping(str(self.base_dir), str(self.base_dir), "rw")
            .with_command(["/usr/sbin/sshd", "-D", "-e", "-f", f"{CONFIG_MOUNT}/sshd_config"])
        )
        self._container = container.start()
        self.host = container.get_container_host_ip()
        self.port = int(container.get_exposed_port(SSH_PORT))
        self._write_known_hosts()
        self._wait_until_ready()
        return self

    def stop(self) -> None:
        if self._container is not None:
            self._container.stop()
            self._container = None

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


def _ensure_image(tag: str) -> None:
    """Build the provider's image from the bundled Dockerfile the first time it is needed."""
    import docker
    from docker.errors import ImageNotFound
    from testcontainers.core.image import DockerImage

    client = docker.from_env()
    try:
        client.images.get(tag)
    except ImageNotFound:
        DockerImage(path=IMAGE_CONTEXT, tag=tag, clean_up=False).build()
    finally:
        client.close()
