"""`usr remotes doctor`: prove every precondition of a sync on a remote, one connection, one agent."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from usr_harness.errors import UsrError
from usr_harness.sync.remote.near.connect import connect_agent
from usr_harness.sync.remote.near.profiles import RemoteProfile

CLOCK_SKEW_WARN_SECONDS = 5.0


@dataclass
class Check:
    name: str
    status: str  # ok | warn | fail
    detail: str


@dataclass
class DoctorReport:
    remote: str
    checks: list[Check] = field(default_factory=list)
    error: UsrError | None = None

    @property
    def ok(self) -> bool:
        return all(check.status != "fail" for check in self.checks)

    def as_dict(self) -> dict:
        return {"remote": self.remote, "ok": self.ok, "checks": [vars(c) for c in self.checks]}


def _reached(profile: RemoteProfile) -> Check:
    """How the agent was reached: an SSH login, or (`client: local`) a child on this machine."""
    if profile.client == "local":
        return Check("local agent", "ok", f"{profile.python} started over pipes, no SSH")
    return Check("ssh auth", "ok", f"{profile.target} via {profile.client}")


def run_doctor(profile: RemoteProfile) -> DoctorReport:
    """Each check is recorded; the first failing one ends the run with what it found."""
    report = DoctorReport(profile.name)
    try:
        started = time.time_ns()
        with connect_agent(profile) as agent:
            hello = agent.hello
            midpoint = (started + time.time_ns()) // 2
            report.checks.append(_reached(profile))
            report.checks.append(Check("remote python", "ok", f"{profile.python} {hello['python']}"))
            checks = agent.request({"op": "doctor"})
    except UsrError as error:
        report.checks.append(Check(f"failed ({error.family})", "fail", error.message))
        report.error = error
        return report
    report.checks.append(Check("base_dir", "ok", f"{hello['base_dir']} exists"))
    report.checks.append(
        Check("base_dir writable", "ok" if checks["writable"] else "fail", "wrote and fsynced a probe file")
    )
    report.checks.append(
        Check("fcntl locking", "ok" if checks["locking"] else "fail", "flock excludes a second taker")
    )
    report.checks.append(
        Check("sha256", "ok" if checks["sha256"] else "fail", "hashlib.sha256 on the remote")
    )
    pyarrow = checks.get("pyarrow")
    report.checks.append(
        Check(
            "pyarrow",
            "ok" if pyarrow else "warn",
            f"pyarrow {pyarrow}" if pyarrow else "absent: --verify parquet falls back to size",
        )
    )
    report.checks.append(_hash_cache_check(checks.get("hash_cache")))
    skew = (hello["time_ns"] - midpoint) / 1e9
    report.checks.append(
        Check(
            "clock skew", "ok" if abs(skew) < CLOCK_SKEW_WARN_SECONDS else "warn", f"{skew:+.3f} s vs local"
        )
    )
    return report


def _hash_cache_check(cache: dict | None) -> Check:
    """The remote's persisted hashes: a damaged cache file is a warning (rebuilt, never trusted)."""
    if cache is None:
        return Check("hash cache", "warn", "the remote agent reports no hash cache")
    if not cache["datasets"]:
        return Check("hash cache", "ok", f"none yet under {cache['path']} (the first sync builds it)")
    states = ", ".join(f"{count} {state}" for state, count in sorted(cache["states"].items()))
    damaged = any(state != "ok" for state in cache["states"])
    detail = f"{cache['datasets']} dataset(s), {cache['entries']} entries under {cache['path']} ({states})"
    if damaged:
        detail += "; damaged files are ignored and rebuilt by the next sync"
    return Check("hash cache", "warn" if damaged else "ok", detail)
