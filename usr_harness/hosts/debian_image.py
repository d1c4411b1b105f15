"""The container host's image, built from Debian's packages alone: no image registry is ever asked.

`mmdebstrap` makes a minimal root filesystem (OpenSSH server, the suite's stock
python3, the entry script) from the machine's own Debian mirror, and `docker import`
turns it into an image. The tag is a content hash of everything that goes into the
build, so an image is built once per recipe and every later run reuses it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from usr_harness.errors import ConfigError
from usr_harness.hosts.apt_sources import machine_debian_mirror

# Each suite a container host can be, with the python3 minor it ships (what the remote agent must run on).
SUITES = {"bullseye": "3.9", "bookworm": "3.11"}
DEFAULT_SUITE = "bookworm"
REPOSITORY = "usr-harness-sshd"
PACKAGES = ("openssh-server", "python3")
VARIANT = "minbase"
ENTRY_SCRIPT = Path(__file__).with_name("container_image") / "usr-harness-sshd"
ENTRY_IN_IMAGE = "/usr/local/sbin/usr-harness-sshd"
# Old suites and snapshot mirrors serve Release files past their Valid-Until; signatures are still checked.
APT_OPTIONS = ('Acquire::Check-Valid-Until "false"',)
# Documentation is never read inside the host: leaving it out makes the image a third smaller.
DPKG_OPTIONS = tuple(
    f"path-exclude=/usr/share/{folder}/*" for folder in ("doc", "man", "info", "locale", "lintian")
)
CUSTOMIZE_HOOKS = (
    f'chmod 0755 "$1{ENTRY_IN_IMAGE}"',
    # The harness mounts its own host key: the image carries none, so no two hosts share one.
    'rm -f "$1"/etc/ssh/ssh_host_*',
)
IMAGE_CHANGES = (f'CMD ["{ENTRY_IN_IMAGE}"]', "EXPOSE 22")
BUILD_TOOLS = ("mmdebstrap",)


@dataclass(frozen=True)
class ImageRecipe:
    """Everything an image is built from; its hash names the image."""

    suite: str
    packages: tuple[str, ...] = PACKAGES
    variant: str = VARIANT
    entry_script: bytes = b""

    @classmethod
    def for_suite(cls, suite: str) -> ImageRecipe:
        if suite not in SUITES:
            raise ConfigError(f"container suite {suite!r}: choose from {', '.join(SUITES)}")
        return cls(suite=suite, entry_script=ENTRY_SCRIPT.read_bytes())

    def inputs(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "variant": self.variant,
            "packages": sorted(self.packages),
            "apt_options": list(APT_OPTIONS),
            "dpkg_options": list(DPKG_OPTIONS),
            "customize_hooks": list(CUSTOMIZE_HOOKS),
            "changes": list(IMAGE_CHANGES),
            "entry_script_sha256": hashlib.sha256(self.entry_script).hexdigest(),
        }

    @property
    def inputs_hash(self) -> str:
        canonical = json.dumps(self.inputs(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    @property
    def tag(self) -> str:
        return f"{REPOSITORY}:{self.suite}-{self.inputs_hash}"


@dataclass(frozen=True)
class ImageBuild:
    """Which image a host runs, and whether this call built it (and how long that took)."""

    tag: str
    built: bool
    seconds: float


def mmdebstrap_argv(recipe: ImageRecipe, mirror: str, entry_path: Path, output: Path) -> list[str]:
    """The build command; the entry script is uploaded from `entry_path`, whose bytes the recipe holds."""
    return [
        "mmdebstrap",
        f"--variant={recipe.variant}",
        f"--include={','.join(recipe.packages)}",
        *(f"--aptopt={option}" for option in APT_OPTIONS),
        *(f"--dpkgopt={option}" for option in DPKG_OPTIONS),
        f"--customize-hook=upload {entry_path} {ENTRY_IN_IMAGE}",
        *(f"--customize-hook={hook}" for hook in CUSTOMIZE_HOOKS),
        recipe.suite,
        str(output),
        mirror,
    ]


def build_unavailable(recipe: ImageRecipe, client: Any) -> str | None:
    """Why the recipe's image can be neither found nor built here, or None."""
    if has_image(client, recipe.tag):
        return None
    missing = [tool for tool in BUILD_TOOLS if shutil.which(tool) is None]
    if missing:
        return f"image {recipe.tag} is not built and {' '.join(missing)} is missing (scripts/docker.sh)"
    try:
        machine_debian_mirror()
    except ConfigError as error:
        return f"image {recipe.tag} is not built: {error.message}"
    return None


def ensure_image(recipe: ImageRecipe, client: Any, cache_dir: Path | None = None) -> ImageBuild:
    """The recipe's image, built once: concurrent callers (xdist workers) wait on a lock, then find it."""
    if has_image(client, recipe.tag):
        return ImageBuild(recipe.tag, built=False, seconds=0.0)
    folder = cache_dir or _default_cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    with _locked(folder / f"{recipe.suite}-{recipe.inputs_hash}.lock"):
        if has_image(client, recipe.tag):
            return ImageBuild(recipe.tag, built=False, seconds=0.0)
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="build-", dir=folder) as scratch:
            rootfs = _bootstrap(recipe, Path(scratch))
            _import(client, recipe, rootfs)
        return ImageBuild(recipe.tag, built=True, seconds=round(time.monotonic() - started, 1))


def has_image(client: Any, tag: str) -> bool:
    from docker.errors import ImageNotFound

    try:
        client.images.get(tag)
    except ImageNotFound:
        return False
    return True


def _bootstrap(recipe: ImageRecipe, scratch: Path) -> Path:
    """The root filesystem as a tarball in `scratch`; a failed build names the mirror and its log."""
    mirror = machine_debian_mirror()
    entry = scratch / "entry"
    entry.write_bytes(recipe.entry_script)
    rootfs = scratch / "rootfs.tar"
    try:
        done = subprocess.run(
            mmdebstrap_argv(recipe, mirror, entry, rootfs), capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        raise ConfigError("mmdebstrap is not installed: the container image cannot be built") from None
    if done.returncode != 0:
        tail = " | ".join((done.stderr or done.stdout).strip().splitlines()[-6:])
        raise ConfigError(f"mmdebstrap {recipe.suite} from {mirror} failed (exit {done.returncode}): {tail}")
    return rootfs


def _import(client: Any, recipe: ImageRecipe, rootfs: Path) -> None:
    repository, tag = recipe.tag.split(":")
    answer = client.api.import_image(
        src=str(rootfs), repository=repository, tag=tag, changes=list(IMAGE_CHANGES)
    )
    if not has_image(client, recipe.tag):
        raise ConfigError(f"docker import of {recipe.tag} left no image: {str(answer)[:400]}")


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


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


def _default_cache_dir() -> Path:
    """Machine-wide as Docker's images are (not under HOME, which tests isolate), one per user."""
    return Path(tempfile.gettempdir()) / f"usr-harness-images-{os.getuid()}"


def main(argv: list[str] | None = None) -> int:
    """`python -m usr_harness.hosts.debian_image [SUITE...]`: build (or find) the images, say how long.

    Exits 0 when Docker or the build tools are missing, saying why: the container drills then skip.
    """
    import sys

    import docker

    suites = (sys.argv[1:] if argv is None else argv) or list(SUITES)
    reason = docker_unavailable()
    if reason:
        print(f"images: not built: {reason}", file=sys.stderr)
        return 0
    client = docker.from_env()
    try:
        for suite in suites:
            recipe = ImageRecipe.for_suite(suite)
            reason = build_unavailable(recipe, client)
            if reason:
                print(f"images: {suite}: {reason}", file=sys.stderr)
                continue
            image = ensure_image(recipe, client)
            how = f"built in {image.seconds:g} s" if image.built else "cached"
            print(f"images: {suite}: {image.tag} {how}", flush=True)
    except ConfigError as error:
        print(f"images: {error.message}", file=sys.stderr)
    finally:
        client.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
