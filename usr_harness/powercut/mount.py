"""The mount/unmount lifecycle of a power-cut layer, and the cut applied to the backing folder afterwards.

    with PowerCutMount(backing, mountpoint, logs) as layer:
        ...run the program under test on `mountpoint`...
    ops = layer.operations()
    layer.power_cut(k)          # backing now holds what a cut after the k-th op leaves
    with PowerCutMount(backing, mountpoint, logs2, identities=layer.cut_identities) as after:
        ...files show the inode numbers and times they had before the cut...

`FuseUnavailable` (no /dev/fuse, no fusermount3, no libfuse3, no right to mount) is raised before anything
is touched, so a caller can skip with its reason.
"""

from __future__ import annotations

import ctypes.util
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

from usr_harness.powercut.errors import FuseUnavailable, PowerCutError
from usr_harness.powercut.model import DurabilityModel, Policy
from usr_harness.powercut.ops import RESET_REQUEST, Op, read_log
from usr_harness.powercut.tree import (
    Entry,
    Identity,
    Tree,
    identities,
    load_identities,
    restore,
    save_identities,
    scan,
)

MOUNT_TIMEOUT = 10.0
UNMOUNT_TIMEOUT = 10.0
FUSE_DEVICE = Path("/dev/fuse")
FUSE_HELPER = "fusermount3"
CUT_IDENTITIES = "cut-identities.json"


def fuse_unavailable_reason(device: Path = FUSE_DEVICE, helper: str = FUSE_HELPER) -> str | None:
    """Why a layer cannot be mounted here, or None if nothing missing is known (the mount may still fail)."""
    if not device.exists():
        return f"{device} does not exist (no FUSE in this kernel or container)"
    if not os.access(device, os.R_OK | os.W_OK):
        return f"no read/write access to {device}"
    if shutil.which(helper) is None:
        return f"{helper} not on PATH (Debian package fuse3)"
    if ctypes.util.find_library("fuse3") is None:
        return "libfuse3 not found (Debian package fuse3 / libfuse3-3)"
    if importlib.util.find_spec("mfusepy") is None:
        return "Python package mfusepy not installed"
    return None


def _unmount(mountpoint: Path) -> None:
    """fusermount3 -u, retried while busy; a lazy unmount last so a stuck reader never leaves it mounted."""
    deadline = time.monotonic() + UNMOUNT_TIMEOUT
    while os.path.ismount(mountpoint):
        done = subprocess.run(["fusermount3", "-u", str(mountpoint)], capture_output=True, text=True)
        if done.returncode == 0:
            return
        if time.monotonic() > deadline:
            subprocess.run(["fusermount3", "-u", "-z", str(mountpoint)], capture_output=True)
            return
        time.sleep(0.1)


class PowerCutMount:
    """One layer over `backing` at `mountpoint`, logging into `log_folder`; a context manager."""

    def __init__(
        self,
        backing: Path,
        mountpoint: Path,
        log_folder: Path,
        *,
        cut_after: int | None = None,
        identities: Path | None = None,
        device: Path = FUSE_DEVICE,
        helper: str = FUSE_HELPER,
    ) -> None:
        self.device, self.helper = device, helper
        self.backing = backing.resolve()
        self.mountpoint = mountpoint.resolve()
        self.log_folder = log_folder.resolve()
        self.cut_after = cut_after
        self.identities = identities
        self.initial: Tree = {}
        self.initial_identities: dict[str, Identity] = {}
        self.st_dev: int | None = None
        self._resets = 0
        self._process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        reason = fuse_unavailable_reason(self.device, self.helper)
        if reason is not None:
            raise FuseUnavailable(reason)
        self.mountpoint.mkdir(parents=True, exist_ok=True)
        self.initial = scan(self.backing)
        self.initial_identities = identities(self.backing)
        command = [sys.executable, "-m", "usr_harness.powercut.serve"]
        command += [str(self.backing), str(self.mountpoint), str(self.log_folder)]
        if self.cut_after is not None:
            command += ["--cut-after", str(self.cut_after)]
        if self.identities is not None:
            command += ["--identities", str(self.identities)]
            self.initial_identities.update(load_identities(self.identities))
        self._process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + MOUNT_TIMEOUT
        while not os.path.ismount(self.mountpoint):
            if self._process.poll() is not None:
                error = (self._process.stderr.read() if self._process.stderr else "").strip()
                self._process = None
                last = error.splitlines()[-1] if error else "layer exited before mounting"
                if "permit" in error or "fusermount" in error or "mount" in last:
                    raise FuseUnavailable(f"mount refused: {last}")
                raise PowerCutError(f"power-cut layer failed to start: {error or last}")
            if time.monotonic() > deadline:
                self.stop()
                raise PowerCutError(f"{self.mountpoint}: not mounted after {MOUNT_TIMEOUT:.0f} s")
            time.sleep(0.02)
        self.st_dev = os.stat(self.mountpoint).st_dev

    def stop(self) -> None:
        """Unmount and wait for the layer to exit (idempotent; safe after a failed start)."""
        _unmount(self.mountpoint)
        if self._process is None:
            return
        try:
            self._process.wait(timeout=UNMOUNT_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if self._process.stderr:
            self._process.stderr.close()
        self._process = None

    def __enter__(self) -> PowerCutMount:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def operations(self) -> list[Op]:
        """The durability-relevant ops the layer performed, in order (read after `stop`)."""
        return read_log(self.log_folder)

    @property
    def cut_identities(self) -> Path:
        """Where `power_cut` keeps the files' identities for a remount (`identities=`)."""
        return self.log_folder / CUT_IDENTITIES

    def _cut(self, k: int | None, policy: Policy, into: Path) -> dict[str, Entry]:
        ops = self.operations()
        model = DurabilityModel(self.initial, self.initial_identities)
        for op in ops if k is None else ops[:k]:
            model.apply(op)
        tree = model.durable(policy)
        restore(into, tree)
        save_identities(self.cut_identities, model.durable_identities(policy))
        return tree

    def power_cut(
        self, k: int | None = None, *, policy: Policy = Policy.STRICT, into: Path | None = None
    ) -> dict[str, Entry]:
        """Write what a cut after the first `k` ops (default all) leaves into `into` (default backing).

        The files' identities after the cut go to `cut_identities`, for a remount to show them.
        """
        if self._process is not None:
            raise PowerCutError("unmount the layer (stop) before applying a power cut")
        return self._cut(k, policy, into or self.backing)

    def cut_in_place(self, k: int | None = None, *, policy: Policy = Policy.STRICT) -> dict[str, Entry]:
        """The cut of `power_cut`, applied under the live mount: same mount point, same device number.

        The layer goes on from the cut state, logging into a folder of its own (`operations()` stays the
        recorded run), and files show the identities they had when synced.
        """
        if self._process is None:
            raise PowerCutError("the layer is not mounted: use power_cut")
        tree = self._cut(k, policy, self.backing)
        self._resets += 1
        request = self.log_folder / RESET_REQUEST
        body = {
            "log_folder": str(self.log_folder.with_name(f"{self.log_folder.name}-cut{self._resets}")),
            "identities": str(self.cut_identities),
        }
        pending = request.with_suffix(".tmp")
        pending.write_text(json.dumps(body), encoding="utf-8")
        pending.replace(request)
        os.stat(self.mountpoint)  # the layer takes the request on this getattr of its root
        if request.exists():
            raise PowerCutError(f"{self.mountpoint}: the layer did not take the cut")
        return tree
