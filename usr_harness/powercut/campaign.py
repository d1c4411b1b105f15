"""A power-loss campaign on one's own dataset (`usr-harness powercut`), never on the data itself.

Everything happens in a scratch folder: the remote's version is fetched there with the engine's own pull
(from the user's remote, read as any pull reads it), the laptop's dataset and its base manifest are
copied there, and a throwaway loopback sshd serves a scratch remote root under the remote's name. The
side the sync writes (the laptop's root for a pull, the remote's for a push) is put on the power-cut
layer, the sync is recorded once, and every distinct state a power cut can leave (a seeded sample past
`--sample`) is checked as the drill checks it (`checks.py`). The report folder gets `powercut.json`
(each cut range's verdict and evidence) and `powercut.html` (a fragment, `html.py`).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from usr_harness.engines import Engine, RemoteSpec, make_engine
from usr_harness.hosts.loopback import LoopbackSshd
from usr_harness.powercut.checks import (
    SYNC_STATE,
    CutChecker,
    SyncUnderCut,
    base_files,
    copy_sync_state,
    sweep,
)
from usr_harness.powercut.errors import PowerCutError
from usr_harness.powercut.html import render_fragment
from usr_harness.powercut.model import Policy
from usr_harness.powercut.mount import PowerCutMount
from usr_harness.powercut.sweep import CutRange, coverage
from usr_harness.report.fingerprint import fingerprint_tree

DIRECTIONS = ("pull", "push")
REPORT_JSON = "powercut.json"
REPORT_HTML = "powercut.html"


class CampaignError(PowerCutError):
    """A campaign that cannot run: a missing dataset, a fetch that failed, nothing to sync."""


@dataclass(frozen=True)
class CampaignConfig:
    """What `usr-harness powercut` was asked: whose dataset, which way, how many states, where to write."""

    root: Path
    dataset: str
    remote: str
    direction: str
    policy: Policy
    scratch: Path
    report_dir: Path
    remotes_config: Path | None = None
    sample: int | None = None
    seed: int = 1729
    engine_cmd: str | None = None
    engine_profile: str | None = None


Progress = Callable[[int, int, CutRange], None]


def _engine(config: CampaignConfig, root: Path, workdir: Path, remote: RemoteSpec | None = None) -> Engine:
    return make_engine(
        root,
        profile=config.engine_profile,
        engine_cmd=config.engine_cmd,
        remote=remote,
        remotes_config=None if remote is not None else config.remotes_config,
        workdir=workdir,
    )


def _copy_laptop(config: CampaignConfig, into: Path) -> None:
    """The dataset, the root's own files (registry) and the dataset's base manifest for this remote."""
    into.mkdir(parents=True)
    for item in config.root.iterdir():
        if item.is_file() and not item.is_symlink():
            shutil.copy2(item, into / item.name)
    shutil.copytree(config.root / config.dataset, into / config.dataset, symlinks=True)
    base = config.root / SYNC_STATE / config.remote / f"{config.dataset}.json"
    if base.is_file():
        (into / SYNC_STATE / config.remote).mkdir(parents=True)
        shutil.copy2(base, into / SYNC_STATE / config.remote / base.name)


def _fetch_remote(config: CampaignConfig, scratch: Path) -> Path:
    """The remote's version of the dataset, pulled by the engine into a scratch root of its own."""
    fetched = scratch / "fetched"
    result = _engine(config, fetched, scratch / "engine-fetch").pull(config.dataset, config.remote)
    if not result.ok:
        raise CampaignError(
            f"fetching {config.dataset} from {config.remote} failed: {result.message.strip()}"
        )
    return fetched / config.dataset


def _check_input(config: CampaignConfig) -> None:
    if config.direction not in DIRECTIONS:
        raise CampaignError(f"direction must be one of {', '.join(DIRECTIONS)}, not {config.direction!r}")
    if not (config.root / config.dataset).is_dir():
        raise CampaignError(f"no dataset {config.dataset!r} under {config.root}")
    if config.scratch.exists() and any(config.scratch.iterdir()):
        raise CampaignError(f"scratch folder {config.scratch} is not empty")
    if config.report_dir.exists() and any(config.report_dir.iterdir()):
        raise CampaignError(f"report folder {config.report_dir} is not empty")


def _record(config: CampaignConfig, host: LoopbackSshd, fetched: Path) -> SyncUnderCut:
    """Lay out both sides, mount the layer on the written one, run the sync once; the layer stays up."""
    scratch = config.scratch
    laptop = scratch / "laptop"
    _copy_laptop(config, laptop)
    remote_root = scratch / "remote"
    layered = scratch / "layer-backing"
    shutil.copytree(fetched, (layered if config.direction == "push" else remote_root) / config.dataset)
    remote_root.mkdir(exist_ok=True)
    spec = host.remote_spec(config.remote, base_dir=remote_root)
    old_base = base_files(laptop, config.remote, config.dataset)
    if config.direction == "pull":
        old, new = fingerprint_tree(laptop / config.dataset), fingerprint_tree(remote_root / config.dataset)
        layer = PowerCutMount(laptop, scratch / "laptop-on-layer", scratch / "layer-log")
    else:
        old, new = fingerprint_tree(layered / config.dataset), fingerprint_tree(laptop / config.dataset)
        layer = PowerCutMount(layered, remote_root, scratch / "layer-log")
    if old.digest == new.digest:
        raise CampaignError(
            f"{config.dataset}: the laptop and {config.remote} hold the same version: nothing to cut"
        )
    layer.start()
    try:
        engine = _engine(
            config, layer.mountpoint if config.direction == "pull" else laptop, scratch / "engine", spec
        )
        laptop_before = copy_sync_state(laptop, scratch / "laptop-sync-state-before")
        synced = (
            engine.pull(config.dataset, config.remote)
            if config.direction == "pull"
            else engine.push(config.dataset, config.remote)
        )
        if not synced.ok:
            raise CampaignError(f"the recorded {config.direction} failed: {synced.message.strip()[:400]}")
        written = (layer.mountpoint if config.direction == "pull" else remote_root) / config.dataset
        under_cut = SyncUnderCut(
            engine, layer, config.direction, config.remote, config.dataset, written, old, old_base, new
        )
        if config.direction == "push":
            laptop_after = copy_sync_state(laptop, scratch / "laptop-sync-state-after")
            under_cut.keep_laptop_states(laptop_before, laptop_after)
        return under_cut
    except BaseException:
        layer.stop()
        raise


def run_campaign(config: CampaignConfig, progress: Progress | None = None) -> dict:
    """Fetch, record, sweep, write the report folder; returns the report (its `violations` decide)."""
    _check_input(config)
    config.scratch.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    fetched = _fetch_remote(config, config.scratch)
    with LoopbackSshd(config.scratch / "sshd") as host:
        under_cut = _record(config, host, fetched)
        try:
            ops = under_cut.layer.operations()
            recorded = time.monotonic() - started
            checked = sweep(CutChecker(under_cut), ops, config.policy, config.sample, config.seed, progress)
        finally:
            under_cut.layer.stop()
    report = {
        "dataset": config.dataset,
        "remote": config.remote,
        "direction": config.direction,
        "policy": str(config.policy),
        "seed": config.seed,
        "sample": config.sample,
        **coverage(checked, len(ops)),
        "violations": sum(cut.problem is not None for cut in checked),
        "operations": [op.describe() for op in ops],
        "cuts": [cut.as_dict() for cut in checked],
        "record_seconds": round(recorded, 2),
        "sweep_seconds": round(time.monotonic() - started - recorded, 2),
    }
    config.report_dir.mkdir(parents=True, exist_ok=True)
    (config.report_dir / REPORT_JSON).write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    (config.report_dir / REPORT_HTML).write_text(render_fragment(report), encoding="utf-8")
    return report
