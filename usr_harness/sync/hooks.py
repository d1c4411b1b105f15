"""Named points on the engine's way where an installed hook may act; the engine never knows who listens.

`USR_SYNC_HOOKS=module:attribute` names an object implementing `FaultHook`; it is imported only
when the variable is set (like pytest's `PYTEST_PLUGINS`), so an engine without a hook pays one
attribute check per point. A hook decides; `fire` carries out what it decided (raise, SIGKILL,
SIGSTOP, fill the folder's filesystem), on the laptop and, shipped in the agent bundle, on the
remote side of a push. Stdlib only.
"""

from __future__ import annotations

import errno
import importlib
import os
import signal
from typing import Protocol

HOOKS_ENV = "USR_SYNC_HOOKS"
FILLER = "fault-filler"
"""The file `fill` writes in the folder it is given (a stage, so removing the stage frees the space)."""


class FaultInjected(RuntimeError):
    """Raised where a hook fired the action `raise`."""


class HookError(ValueError):
    """`USR_SYNC_HOOKS` does not name an importable `module:attribute`."""


class FaultHook(Protocol):
    def at(self, name: str, folder: str | None) -> None:
        """The engine reached point `name` (`folder`: the stage or folder it is writing, if any)."""

    def remote_action(self, point: str) -> str | None:
        """The action the agent should fire at `point` during a push, or None."""


class _Installed:
    hook: FaultHook | None = None


def install(hook: FaultHook | None) -> None:
    """Make `hook` the one the engine calls at every point (None: no hook)."""
    _Installed.hook = hook


def load_from_env() -> FaultHook | None:
    """Install the hook `USR_SYNC_HOOKS` names; an unset variable leaves the engine as it was."""
    spec = os.environ.get(HOOKS_ENV)
    if not spec:
        return _Installed.hook
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise HookError(f"{HOOKS_ENV}={spec!r}: expected module:attribute")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise HookError(f"{HOOKS_ENV}={spec!r}: cannot import {module_name}: {error}") from None
    hook = getattr(module, attribute, None)
    if hook is None:
        raise HookError(f"{HOOKS_ENV}={spec!r}: {module_name} has no attribute {attribute!r}")
    install(hook)
    return hook


def fault_point(name: str, folder: str | None = None) -> None:
    """Mark that the engine reached `name`; an installed hook may fire there."""
    if _Installed.hook is not None:
        _Installed.hook.at(name, folder)


def remote_fault(point: str) -> dict[str, str]:
    """The request field that makes the agent fire at `point`: `{"fault": action}` when a hook asks."""
    if _Installed.hook is None:
        return {}
    action = _Installed.hook.remote_action(point)
    return {} if action is None else {"fault": action}


def fire(action: str, folder: str | None, point: str) -> None:
    """Carry out `action` at `point`: die as a crash would, stop so a drill can act while the
    process is held, take every free byte of `folder`'s filesystem, or raise `FaultInjected`
    (also for `fill` where no folder is named)."""
    if action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if action == "stop":
        os.kill(os.getpid(), signal.SIGSTOP)
        return
    if action == "fill" and folder is not None:
        fill_space(folder)
        return
    raise FaultInjected(f"fault point {point} fired")


def fill_space(folder: str) -> None:
    """Take every free byte of `folder`'s filesystem with one file in `folder`."""
    info = os.statvfs(folder)
    free = info.f_bavail * info.f_frsize
    descriptor = os.open(os.path.join(folder, FILLER), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        while free > 0:
            try:
                os.posix_fallocate(descriptor, 0, free)
                return
            except OSError as error:
                if error.errno != errno.ENOSPC:
                    raise
                free -= info.f_frsize
    finally:
        os.close(descriptor)
