"""Turn raw runs into the table's figures, each with its reference and issue 9's target."""

from __future__ import annotations

from collections.abc import Iterable

from benchmarks.bench_fingerprint import TARGET_GB_PER_S
from benchmarks.bench_mock import TARGET_SECONDS as MOCK_TARGET_SECONDS
from benchmarks.breakdown import median_phases
from benchmarks.bulk import BulkRuns, engine_key
from benchmarks.local import HashRuns
from benchmarks.measure import Run, Stats
from benchmarks.table import Figure, Target, format_value
from benchmarks.workspace import CLIENTS

MB = 1e6
GB = 1e9
MEMORY_LIMIT_MB = 300.0
ONE_CONNECTION = Target("==", 1)


def _ratio(bound: float) -> Target:
    return Target("<=", bound, on="ratio")


LOOP_STEPS = (
    ("diff", "diff, identical sides", "checksum_noop", "rsync -a --checksum no-op", _ratio(1.5)),
    ("first_pull", "first pull", "first_pull", "rsync -a fresh", _ratio(2.0)),
    ("noop_pull", "no-op pull", "noop_pull", "rsync -a no-op", _ratio(1.5)),
    ("noop_push", "no-op push", "noop_push", "rsync -a no-op", _ratio(1.5)),
    ("push_part", "push of one new overlay part", "push_part", "rsync -a same files", _ratio(1.8)),
    (
        "incremental_pull",
        "pull after one remote batch",
        "incremental_pull",
        "rsync -a same batch",
        _ratio(1.8),
    ),
)
"""(engine step, label, rsync step, rsync label, target) for the everyday loop: issue 31's ratios to
rsync on the same sshd and files in the same run; the seconds stay beside them as information."""
STARTUP_RATIO = 2.0
"""Issue 31: `usr --help` and `usr --version` within 2x of `python3 -c pass` in one run."""


def seconds(runs: Iterable[Run]) -> Stats:
    return Stats.of(run.seconds for run in runs)


def throughput(runs: Iterable[Run], size_bytes: int) -> Stats:
    """MB/s per run over the whole dataset moved."""
    return Stats.of(size_bytes / run.seconds / MB for run in runs)


def rate(stats: Stats, size_bytes: int) -> Stats:
    """GB/s per run from seconds per run."""
    return Stats.of(size_bytes / value / GB for value in stats.runs)


def megabytes(values: Iterable[int | None]) -> Stats | None:
    known = [value / MB for value in values if value is not None]
    return Stats.of(known) if known else None


def loop_figures(name: str, runs: dict[str, list[Run]]) -> list[Figure]:
    figures = []
    for step, label, ref_step, ref_label, target in LOOP_STEPS:
        figures.append(
            Figure(
                key=f"{name}.{step}",
                label=f"{name}: {label}",
                unit="s",
                ours=seconds(runs[f"usr.{step}"]),
                reference=seconds(runs[f"rsync.{ref_step}"]),
                reference_label=ref_label,
                target=target,
                phases=median_phases(run.phases for run in runs[f"usr.{step}"]),
                reference_phases=median_phases(run.phases for run in runs[f"rsync.{ref_step}"]),
            )
        )
    figures += startup_figures(name, runs)
    startup = seconds(runs["startup"]).median
    figures.append(
        Figure(
            key=f"{name}.diff_engine",
            label=f"{name}: diff beyond start-up (diff minus `usr --help`: interpreter + imports)",
            unit="s",
            ours=Stats.of(run.seconds - startup for run in runs["usr.diff"]),
        )
    )
    peaks = megabytes(
        run.peak_rss for key, values in runs.items() if key.startswith("usr.") for run in values
    )
    if peaks is not None:
        figures.append(Figure(f"{name}.peak_memory", f"{name}: peak memory of usr commands", "MB", peaks))
    return figures


def peer_figures(name: str, runs: dict[str, list[Run]]) -> list[Figure]:
    """Our loop steps beside the same steps run by the peer engine (`peer.py`) in the same run."""
    figures = []
    for step, label, *_ in LOOP_STEPS:
        if f"peer.{step}" not in runs:
            continue
        ours, peer = seconds(runs[f"usr.{step}"]), seconds(runs[f"peer.{step}"])
        times = peer.median / ours.median
        figures.append(
            Figure(
                key=f"{name}.peer_{step}",
                label=f"{name}: {label}, beside the peer engine (it takes {times:.1f}x ours)",
                unit="s",
                ours=ours,
                reference=peer,
                reference_label="peer usr, same step",
            )
        )
    return figures


def startup_figures(name: str, runs: dict[str, list[Run]]) -> list[Figure]:
    """`usr --help` and `usr --version` against the bare interpreter, measured back to back."""
    python = seconds(runs["startup.python"])
    return [
        Figure(
            key=f"{name}.startup_{flag}",
            label=f"{name}: `usr --{flag}`",
            unit="s",
            ours=seconds(runs[key]),
            reference=python,
            reference_label="python3 -c pass",
            target=_ratio(STARTUP_RATIO),
        )
        for flag, key in (("help", "startup"), ("version", "startup.version"))
    ]


def bulk_figures(bulk: BulkRuns, size_bytes: int) -> list[Figure]:
    size = f"{size_bytes / GB:.2f} GB"
    runs = bulk.runs
    figures = []
    for client in CLIENTS:
        for action in ("pull", "push"):
            figures.append(
                Figure(
                    f"bulk.{action}_throughput" + ("" if client == "paramiko" else f"_{client}"),
                    f"bulk {size}: first {action} throughput, client {client}",
                    "MB/s",
                    throughput(runs[engine_key(action, client)], size_bytes),
                    throughput(runs[f"rsync.{action}"], size_bytes),
                    "rsync -a fresh",
                    Target(">=", 1.0, on="ratio"),
                    higher_is_better=True,
                )
            )
    for action in ("pull", "push"):
        figures.append(
            Figure(
                f"bulk.{action}_same_cipher",
                f"bulk {size}: first {action} throughput vs rsync with usr's cipher order, client openssh",
                "MB/s",
                throughput(runs[engine_key(action, "openssh")], size_bytes),
                throughput(runs[f"rsync_same_cipher.{action}"], size_bytes),
                "rsync -a, AES-GCM first",
                higher_is_better=True,
            )
        )
    figures.append(
        Figure(
            "bulk.pull_vs_scp",
            f"bulk {size}: first pull throughput vs scp, client openssh",
            "MB/s",
            throughput(runs[engine_key("pull", "openssh")], size_bytes),
            throughput(runs["scp.pull"], size_bytes),
            "scp -r",
            higher_is_better=True,
        )
    )
    engine_runs = [engine_key(action, client) for client in CLIENTS for action in ("pull", "push")]
    client_peaks = megabytes(run.peak_rss for key in engine_runs for run in runs[key])
    if client_peaks is not None:
        figures.append(
            Figure(
                "bulk.client_memory", "bulk: peak memory, usr pull/push", "MB", client_peaks, target=_memory()
            )
        )
    agent = megabytes(peak for key in engine_runs for peak in bulk.agent_peaks[key])
    if agent is not None:
        figures.append(
            Figure("bulk.agent_memory", "bulk: peak memory, remote agent", "MB", agent, target=_memory())
        )
    return figures


def _memory() -> Target:
    return Target("<", MEMORY_LIMIT_MB)


def connection_figure(run_sets: Iterable[dict[str, list[Run]]]) -> Figure:
    """SSH connections each command opened, from the sshd log: every usr command, every rsync."""
    ours, theirs = [], []
    for runs in run_sets:
        for key, values in runs.items():
            if key.startswith("usr."):
                ours += [run.connections for run in values]
            elif key.startswith("rsync."):
                theirs += [run.connections for run in values]
    return Figure(
        "ssh.connections",
        "SSH connections per usr command",
        "conn",
        Stats.of(ours),
        Stats.of(theirs) if theirs else None,
        "rsync",
        ONE_CONNECTION,
    )


def local_figures(mock: Stats, hashes: HashRuns, where: str) -> list[Figure]:
    sha256sum = rate(hashes.sha256sum, hashes.size_bytes)
    over = f"over {where} ({format_value(hashes.size_bytes / MB, 'MB')}, warm)"
    return [
        Figure(
            "mock.generate_1m",
            "mock: 1,000,000 records generated + written",
            "s",
            mock,
            target=Target("<=", MOCK_TARGET_SECONDS),
        ),
        Figure(
            "hash.fingerprint",
            f"blake3 fingerprint_tree {over}",
            "GB/s",
            rate(hashes.fingerprint, hashes.size_bytes),
            sha256sum,
            "sha256sum",
            Target(">=", TARGET_GB_PER_S),
            higher_is_better=True,
        ),
        Figure(
            "hash.engine_sha256",
            f"engine sha256 (scan.sha256_file) {over}",
            "GB/s",
            rate(hashes.engine_sha256, hashes.size_bytes),
            sha256sum,
            "sha256sum",
            higher_is_better=True,
        ),
        Figure(
            "hash.hashlib_sha256",
            f"hashlib.file_digest sha256 {over}",
            "GB/s",
            rate(hashes.hashlib_sha256, hashes.size_bytes),
            sha256sum,
            "sha256sum",
            higher_is_better=True,
        ),
    ]
