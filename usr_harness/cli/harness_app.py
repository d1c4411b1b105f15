"""`usr-harness`: mock batches, adversarial cases, corruptions, hosts, drills, cycles and reports."""

from __future__ import annotations

import sys

import typer

from usr_harness.cli import (
    harness_adversarial,
    harness_corrupt,
    harness_cycle,
    harness_host,
    harness_mock,
    harness_report,
)
from usr_harness.cli.runner import run_app

app = typer.Typer(
    name="usr-harness",
    help="Fidelity and drill harness for USR sync: mock data, hostile inputs, faults, drills, reports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

harness_host.register(app)
harness_mock.register(app)
harness_adversarial.register(app)
harness_corrupt.register(app)
harness_cycle.register(app)
harness_report.register(app)


def main(argv: list[str] | None = None) -> int:
    code = run_app(app, "usr-harness", argv)
    if argv is None:
        sys.exit(code)
    return code
