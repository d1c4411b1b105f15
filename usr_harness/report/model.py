"""The run report: one versioned JSON document per run, read by `report show`, replay and the page.

The dataclasses mirror `schema.json` field for field. A reader refuses a schema
version it does not know, so an old harness never misreads a newer report.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from usr_harness.errors import UsageError
from usr_harness.report.verdicts import (
    VERDICTS,
    drill_message,
    failure_counts,
    headline,
    run_message,
    run_outcome,
)

SCHEMA_VERSION = 5
READABLE_VERSIONS = (2, 3, 4, 5)
"""Version 2 reports (before `unsupported`, sources and messages) still read, with empty sources;
version 3 ones (before the outcome line) read with it derived; version 4 ones (before
`remote_options`) ran on the loopback host, which is what an empty `remote_options` says."""
REMOTE_OPTIONS = ("--drill-remote-provider=", "--drill-container-suite=", "--drill-remote-profile=")
"""The only options `remote_options` may hold: replay passes them to pytest as they are."""
REPORT_FILE = "report.json"
PAGE_FILE = "index.html"
BUNDLED = "bundled"


@dataclass(frozen=True)
class DrillEntry:
    """One drill's outcome; large evidence lives in files named by `evidence_files` (run-relative)."""

    nodeid: str
    verdict: str
    seed: int
    duration_seconds: float
    evidence: dict[str, Any]
    evidence_files: dict[str, str]
    fingerprints: dict[str, Any]
    engine: str = BUNDLED
    reproduce: str = ""
    """The command that runs this drill again as the run ran it (`report/reproduce.py`)."""
    enforces: tuple[str, ...] = ()
    """The runbook clauses and hardening rules the drill holds the engine to (`report/sources.py`)."""
    engine_calls: int = 0
    message: str = ""

    @property
    def blind_spots(self) -> tuple[str, ...]:
        """The checks the catalogue lets a weaker profile miss and that it missed: expected, never a pass."""
        return tuple(str(check) for check in self.evidence.get("blind_spots") or ())

    @property
    def why(self) -> str:
        """The failure message, the missing feature, or what kept the verdict unknown; empty for a pass."""
        for key in ("failure", "unsupported_because", "unknown_because"):
            if self.evidence.get(key):
                return str(self.evidence[key])
        return ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "nodeid": self.nodeid,
            "reproduce": self.reproduce,
            "engine": self.engine,
            "verdict": self.verdict,
            "message": self.message,
            "enforces": list(self.enforces),
            "engine_calls": self.engine_calls,
            "seed": self.seed,
            "duration_seconds": self.duration_seconds,
            "evidence": self.evidence,
            "evidence_files": self.evidence_files,
            "fingerprints": self.fingerprints,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DrillEntry:
        verdict = str(data["verdict"])
        if verdict not in VERDICTS:
            raise ValueError(f"{data['nodeid']}: unknown verdict {verdict!r}")
        evidence = dict(data.get("evidence", {}))
        enforces = tuple(str(source) for source in data.get("enforces", ()))
        reasons = ("failure", "unsupported_because", "unknown_because")
        why = str(next((evidence[key] for key in reasons if evidence.get(key)), ""))
        return cls(
            nodeid=str(data["nodeid"]),
            verdict=verdict,
            seed=int(data["seed"]),
            duration_seconds=float(data["duration_seconds"]),
            evidence=evidence,
            evidence_files={str(k): str(v) for k, v in data.get("evidence_files", {}).items()},
            fingerprints=dict(data.get("fingerprints", {})),
            engine=str(data.get("engine") or BUNDLED),
            reproduce=str(data.get("reproduce") or ""),
            enforces=enforces,
            engine_calls=int(data.get("engine_calls", 0)),
            message=str(data.get("message") or drill_message(verdict, why, enforces)),
        )


def verdict_counts(drills: tuple[DrillEntry, ...] | list[DrillEntry]) -> dict[str, int]:
    counts = Counter(drill.verdict for drill in drills)
    return {"total": len(drills), **{verdict: counts[verdict] for verdict in VERDICTS}}


@dataclass(frozen=True)
class Report:
    """Everything needed to read a run at a glance and to run the same drills again."""

    run_id: str
    created_at: str
    seed: int
    engine_cmd: str | None
    scale: str
    rootdir: str
    versions: dict[str, str]
    drills: tuple[DrillEntry, ...]
    run_files: tuple[str, ...]
    git_commit: str | None = None
    steps: dict[str, Any] | None = None
    replay_of: str | None = None
    engine_profile: str | None = None
    remote_options: tuple[str, ...] = ()
    """How the drills chose their remote when not the loopback host: replay and merge hold a run to them."""

    @property
    def engine(self) -> str:
        """The engine profile's name the drills recorded, else what the options imply."""
        recorded = sorted({drill.engine for drill in self.drills})
        if recorded:
            return ", ".join(recorded)
        return self.engine_profile or ("usr-cli" if self.engine_cmd else BUNDLED)

    @property
    def summary(self) -> dict[str, int]:
        return verdict_counts(self.drills)

    @property
    def failures(self) -> dict[str, int]:
        """Failed drills by what they break: upstream's runbooks apart from this project's hardening."""
        return failure_counts([{"verdict": d.verdict, "enforces": d.enforces} for d in self.drills])

    @property
    def drove_engine(self) -> int:
        """Drills that ran at least one engine command."""
        return sum(drill.engine_calls > 0 for drill in self.drills)

    @property
    def message(self) -> str:
        return run_message(self.summary, self.failures, self.drove_engine)

    @property
    def blind_spots(self) -> int:
        """Expected blind spots of the whole run, counted apart from the verdicts (as pytest counts xfail)."""
        return sum(len(drill.blind_spots) for drill in self.drills)

    @property
    def outcome(self) -> str:
        """passed, failed or errored: what a person reads first."""
        return run_outcome(self.summary, (self.steps or {}).get("status"))

    @property
    def headline(self) -> str:
        return headline(self.outcome, self.summary, self.blind_spots)

    @property
    def by_engine(self) -> dict[str, dict[str, int]]:
        """Verdict counts engine by engine (one engine per run; merged or compared runs hold more)."""
        engines = sorted({drill.engine for drill in self.drills})
        return {name: verdict_counts([d for d in self.drills if d.engine == name]) for name in engines}

    def as_dict(self) -> dict[str, Any]:
        """JSON form; optional facts (git commit, step report, replay origin) are left out when unknown."""
        data: dict[str, Any] = {
            "outcome": self.outcome,
            "headline": self.headline,
            "blind_spots": self.blind_spots,
            "schema_version": SCHEMA_VERSION,
            "run_id": self.run_id,
            "created_at": self.created_at,
            "seed": self.seed,
            "engine": self.engine,
            "engine_cmd": self.engine_cmd,
            "engine_profile": self.engine_profile,
            "remote_options": list(self.remote_options),
            "scale": self.scale,
            "rootdir": self.rootdir,
            "versions": self.versions,
            "message": self.message,
            "summary": self.summary,
            "failures": self.failures,
            "drove_engine": self.drove_engine,
            "engines": self.by_engine,
            "drills": [drill.as_dict() for drill in self.drills],
            "run_files": list(self.run_files),
        }
        optional = {"git_commit": self.git_commit, "steps": self.steps, "replay_of": self.replay_of}
        data.update({key: value for key, value in optional.items() if value is not None})
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        version = data.get("schema_version")
        if version not in READABLE_VERSIONS:
            raise ValueError(f"report schema_version {version!r}; this harness reads {READABLE_VERSIONS}")
        return cls(
            run_id=str(data["run_id"]),
            created_at=str(data["created_at"]),
            seed=int(data["seed"]),
            engine_cmd=data["engine_cmd"],
            scale=str(data["scale"]),
            rootdir=str(data["rootdir"]),
            versions={str(k): str(v) for k, v in data["versions"].items()},
            drills=tuple(DrillEntry.from_dict(item) for item in data["drills"]),
            run_files=tuple(str(path) for path in data["run_files"]),
            git_commit=data.get("git_commit"),
            steps=data.get("steps"),
            replay_of=data.get("replay_of"),
            engine_profile=data.get("engine_profile"),
            remote_options=remote_options_from(data.get("remote_options") or ()),
        )


def remote_options_from(values: Any) -> tuple[str, ...]:
    """Checked before anything runs them: a report may only choose the remote, never add pytest options."""
    if not isinstance(values, list | tuple):
        raise ValueError(f"remote_options {values!r}: not a list")
    options = tuple(str(value) for value in values)
    for option in options:
        if not option.startswith(REMOTE_OPTIONS):
            raise ValueError(f"remote_options: {option!r} starts with none of {', '.join(REMOTE_OPTIONS)}")
    return options


def load_report(path: Path) -> Report:
    """Read `path` (a report.json or a run folder holding one); a bad report is a usage error."""
    file = path / REPORT_FILE if path.is_dir() else path
    try:
        return Report.from_dict(json.loads(file.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise UsageError(f"no report at {file}", paths=[str(file)]) from None
    except (ValueError, KeyError, TypeError) as error:
        raise UsageError(f"{file} is not a usr-harness report: {error}", paths=[str(file)]) from None
