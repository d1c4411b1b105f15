"""What a campaign runs: one pytest command line per shard (or per soak cycle), pure.

Sharding is pytest-split's (`--splits N --group K`, balanced on the durations file);
the drill options are the cycle's own (`cycle/drills.py`), so a shard runs the drills
exactly as `usr-harness cycle` would, on its share. Every shard loads the provenance
plugin, which writes the `shard.json` that `report merge` reads.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from usr_harness.cycle.context import CycleConfig
from usr_harness.cycle.drills import default_drills_path, pytest_args

PROVENANCE_PLUGIN = "usr_harness.campaign.provenance"
SPLITTING_ALGORITHM = "least_duration"
DURATIONS_FILE = Path("fixtures") / "drill-durations.json"


def default_durations_path() -> Path:
    """The durations file of the work tree the drills come from."""
    return default_drills_path().parent / DURATIONS_FILE


@dataclass(frozen=True)
class CampaignSpec:
    """A campaign: which drills, against which engine on which remote, how many shards, which seeds."""

    shards: int
    seed: int = 1729
    engine_cmd: str | None = None
    engine_profile: str | None = None
    drills_expr: str | None = None
    scale: str = "small"
    cycles: int = 1
    drills_path: Path | None = None
    durations_path: Path | None = None
    remote_options: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.shards < 1:
            raise ValueError(f"shards must be at least 1, not {self.shards}")
        if self.cycles < 1:
            raise ValueError(f"cycles must be at least 1, not {self.cycles}")

    @property
    def seeds(self) -> list[int]:
        """One seed per cycle: seed, seed+1, ..."""
        return [self.seed + offset for offset in range(self.cycles)]


def drill_args(spec: CampaignSpec, run_dir: Path, seed: int) -> list[str]:
    """The cycle's pytest arguments for these drills and settings, plus the provenance plugin."""
    config = CycleConfig(
        run_dir=run_dir,
        seed=seed,
        engine_cmd=spec.engine_cmd,
        engine_profile=spec.engine_profile,
        drills_path=spec.drills_path,
        drills_expr=spec.drills_expr,
        scale=spec.scale,
        remote_options=spec.remote_options,
    )
    return [*pytest_args(config), "-p", PROVENANCE_PLUGIN]


def shard_args(spec: CampaignSpec, group: int, run_dir: Path) -> list[str]:
    """Shard `group` (1-based) of `spec.shards`: pytest-split picks its drills from the durations file."""
    if not 1 <= group <= spec.shards:
        raise ValueError(f"group {group} is not in 1..{spec.shards}")
    args = drill_args(spec, run_dir, spec.seed)
    if spec.shards == 1:
        return args
    durations = spec.durations_path or default_durations_path()
    return [
        *args,
        f"--splits={spec.shards}",
        f"--group={group}",
        f"--durations-path={durations}",
        f"--splitting-algorithm={SPLITTING_ALGORITHM}",
    ]


def shard_folder(reports: Path, group: int) -> Path:
    return reports / f"shard-{group}"


def cycle_folder(reports: Path, seed: int) -> Path:
    return reports / f"seed-{seed}"


def ci_commands(spec: CampaignSpec, reports: Path = Path("reports")) -> list[str]:
    """Shell lines for CI, relative to the repository root: one per shard (or cycle), then the merge
    (or the soak's judgement).

    Shard jobs may run on separate machines; each leaves its folder for the merge job.
    """
    portable = CampaignSpec(
        **{
            **spec.__dict__,
            "drills_path": Path("drills"),
            "durations_path": spec.durations_path or DURATIONS_FILE,
        }
    )
    if spec.cycles > 1:
        folders = [cycle_folder(reports, seed) for seed in spec.seeds]
        lines = [
            _pytest_line(drill_args(portable, f, seed)) for f, seed in zip(folders, spec.seeds, strict=True)
        ]
        judge = ["usr-harness", "report", "soak", *map(str, folders), "--out", str(reports / "soak.json")]
        return [*lines, shlex.join(judge)]
    folders = [shard_folder(reports, group) for group in range(1, spec.shards + 1)]
    lines = [
        _pytest_line(shard_args(portable, group, folders[group - 1])) for group in range(1, spec.shards + 1)
    ]
    merge = ["usr-harness", "report", "merge", *map(str, folders), "--out", str(reports / "merged")]
    return [*lines, shlex.join(merge)]


def _pytest_line(args: list[str]) -> str:
    return shlex.join(["pytest", *args])
