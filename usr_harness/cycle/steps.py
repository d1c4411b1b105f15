"""The runbook's step report: every step runs and is reported, a failed one never hides the rest."""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from usr_harness.errors import INTERRUPTED_EXIT, UsrError


def utc_stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class StepResult:
    name: str
    status: str  # passed | failed | skipped
    exit_code: int
    duration_seconds: float
    command: str
    detail: str = ""

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "status": self.status,
            "exit_code": self.exit_code,
            "duration_seconds": self.duration_seconds,
            "command": self.command,
            "detail": self.detail,
        }


@dataclass
class StepReport:
    started_at: str = field(default_factory=utc_stamp)
    finished_at: str | None = None
    steps: list[StepResult] = field(default_factory=list)
    interrupted: bool = False
    """Set by Ctrl-C in a step: the rest are skipped, never run against a host already stopped."""

    @property
    def failed_step(self) -> str | None:
        return next((s.name for s in self.steps if s.status == "failed"), None)

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return INTERRUPTED_EXIT
        return next((s.exit_code or 1 for s in self.steps if s.status == "failed"), 0)

    def run(self, name: str, command: str, action: Callable[[], str | None]) -> StepResult:
        """Run one step; an exception fails it (with its family's exit code) but never stops the cycle.

        Ctrl-C does stop it: the step fails with exit 130 and every later step is skipped.
        """
        if self.interrupted:
            return self.skip(name, command, "not run: the cycle was interrupted (Ctrl-C)")
        started = time.monotonic()
        status, code, detail = "passed", 0, ""
        try:
            detail = action() or ""
        except KeyboardInterrupt:
            self.interrupted = True
            status, code, detail = "failed", INTERRUPTED_EXIT, "interrupted (Ctrl-C)"
        except UsrError as error:
            status, code, detail = "failed", error.exit_code, f"[{error.family}] {error.message}"
        except StepFailed as failure:
            status, code, detail = "failed", failure.exit_code, str(failure)
        except Exception as error:
            status, code = "failed", 1
            detail = "".join(traceback.format_exception_only(type(error), error)).strip()
        result = StepResult(name, status, code, round(time.monotonic() - started, 3), command, detail)
        self.steps.append(result)
        return result

    def skip(self, name: str, command: str, reason: str) -> StepResult:
        result = StepResult(name, "skipped", 0, 0.0, command, reason)
        self.steps.append(result)
        return result

    def finish(self) -> dict:
        self.finished_at = utc_stamp()
        return {
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "status": "failed" if self.failed_step else "passed",
            "exit_code": self.exit_code,
            "failed_step": self.failed_step,
            "interrupted": self.interrupted,
            "steps": [step.as_dict() for step in self.steps],
        }


class StepFailed(Exception):
    """A step's own verdict of failure, with the exit code it reports."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code
