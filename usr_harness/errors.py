"""One exception family per kind of failure, each with its own exit code.

Operators script around exit codes and grep messages, so both are part of the
contract (README "Exit codes"). A message names the dataset, the side and the
path wherever they are known.
"""

from __future__ import annotations

from collections.abc import Iterable

INTERRUPTED_EXIT = 130
"""Ctrl-C: the exit code a shell reports for a command stopped by SIGINT (no family: not an error)."""


class UsrError(Exception):
    """Base of every failure the tools report as one clear line (never a traceback)."""

    family = "error"
    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        paths: Iterable[str] = (),
        dataset: str | None = None,
        side: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.paths = list(paths)
        self.dataset = dataset
        self.side = side

    def as_dict(self) -> dict[str, object]:
        return {"family": self.family, "message": self.message, "paths": list(self.paths)}

    def __str__(self) -> str:
        return self.message


class UsageError(UsrError):
    family, exit_code = "usage", 2


class ConfigError(UsrError):
    family, exit_code = "config", 3


class AuthError(UsrError):
    family, exit_code = "auth", 4


class TransportError(UsrError):
    family, exit_code = "transport", 5


class LockError(UsrError):
    family, exit_code = "lock", 6


class VerifyError(UsrError):
    family, exit_code = "verify", 7


class SidecarsError(UsrError):
    family, exit_code = "sidecars", 8


class EventsError(UsrError):
    family, exit_code = "events", 9


class DivergedError(UsrError):
    family, exit_code = "diverged", 10


class StagingError(UsrError):
    family, exit_code = "staging", 11


class ValidationError(UsrError):
    """Row values break the USR rules (ids, alphabets, lengths, duplicates)."""

    family, exit_code = "validation", 12


class SchemaError(UsrError):
    """Columns or types break the USR schema or the namespace registry."""

    family, exit_code = "schema", 13


class NamespaceError(UsrError):
    """A namespace name is invalid, reserved or not registered."""

    family, exit_code = "namespace", 14


class RegistryError(UsrError):
    family, exit_code = "registry", 15


class DatasetError(UsrError):
    """A dataset is missing, already exists, or its id is unsafe."""

    family, exit_code = "dataset", 16


ALL_FAMILIES: tuple[type[UsrError], ...] = (
    UsageError,
    ConfigError,
    AuthError,
    TransportError,
    LockError,
    VerifyError,
    SidecarsError,
    EventsError,
    DivergedError,
    StagingError,
    ValidationError,
    SchemaError,
    NamespaceError,
    RegistryError,
    DatasetError,
)

FAMILY_BY_NAME: dict[str, type[UsrError]] = {cls.family: cls for cls in ALL_FAMILIES}
