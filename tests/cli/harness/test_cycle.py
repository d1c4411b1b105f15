"""`usr-harness cycle` step lines: written and flushed one by one, so CI logs show them as they run."""

from __future__ import annotations

import io

import pytest

from usr_harness.cli.harness import cycle


class CountingLog(io.StringIO):
    """A CI log: not a terminal, and it counts flushes."""

    flushes = 0

    def flush(self) -> None:
        self.flushes += 1
        super().flush()


def test_each_step_line_is_flushed_off_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    log = CountingLog()
    monkeypatch.setattr("sys.stderr", log)
    cycle._say("preflight:host-up ...")
    cycle._say("preflight:host-up: passed (0.2 s) sshd on 127.0.0.1:2222")
    assert log.getvalue().splitlines() == [
        "cycle: preflight:host-up ...",
        "cycle: preflight:host-up: passed (0.2 s) sshd on 127.0.0.1:2222",
    ]
    assert log.flushes == 2 and not log.isatty()


def test_an_unknown_scale_is_a_usage_error_before_any_work(capsys, tmp_path) -> None:
    from tests.cli_runs import run_harness

    code, _, err = run_harness(capsys, "cycle", "--scale", "huge", "--report-dir", str(tmp_path / "reports"))
    assert code == 2
    assert "'huge' is not one of 'small', 'medium', 'large'" in err
    assert not (tmp_path / "reports").exists()
