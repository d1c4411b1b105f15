"""`usr-harness`: mock batches, adversarial cases, corruptions, hosts, drills, cycles and reports."""

from __future__ import annotations

import sys

import typer

from usr_harness.cli.harness import (
    adversarial,
    campaign,
    corrupt,
    cycle,
    flaws,
    host,
    merge,
    mock,
    powercut,
    report,
)
from usr_harness.cli.runner import run_app, version_option

app = typer.Typer(
    name="usr-harness",
    help="Fidelity and drill harness for USR sync: mock data, hostile inputs, faults, drills, reports.",
    no_args_is_help=True,
    # Plain help, as `usr` has: rich's boxes cut long option names at 80 columns.
    rich_markup_mode=None,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _options(_version: bool = version_option("usr-harness")) -> None:
    """Options of `usr-harness` itself, before the command."""


host.register(app)
mock.register(app)
adversarial.register(app)
corrupt.register(app)
cycle.register(app)
flaws.register(app)
powercut.register(app)
report.register(app)
merge.register(report.report_app)
campaign.register(app, report.report_app)


def main(argv: list[str] | None = None) -> int:
    code = run_app(app, "usr-harness", argv)
    if argv is None:
        sys.exit(code)
    return code
