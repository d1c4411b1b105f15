"""Golden audits: the audit JSON `usr` writes for each runbook scenario, pinned field by field.

Each scenario runs the engine over the loopback sshd on datasets built from a seed,
normalises what varies between runs (`normalise`), and compares the result to
`fixtures/audits/<scenario>.json`, naming every JSON path that differs. A change to the
audit's shape or values is a visible diff. `USR_HARNESS_UPDATE_GOLDEN=1` rewrites the files.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.usr_sides import DATASET, Sides, make_dataset, overlay_table, records_table
from usr_harness.dataset import Dataset
from usr_harness.dataset.context import seeded_context
from usr_harness.dataset.parquet_io import write_parquet

GOLDEN_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "audits"
UPDATE_ENV = "USR_HARNESS_UPDATE_GOLDEN"
UPDATE = os.environ.get(UPDATE_ENV) == "1"
"""Read at import: the suite's isolated environment drops every `USR_HARNESS_*` variable per test."""
VOLATILE = "<volatile>"
VOLATILE_FIELDS = frozenset(
    {
        ("hash_cache", "*", "reads"),
        ("hash_cache", "*", "hits"),
        ("hash_cache", "*", "entries"),
        ("hash_cache", "*", "state"),
        ("timings",),
    }
)
"""JSON paths ("*": any key) whose values vary between runs: how many files a hash cache re-read
depends on whether their mtime fell in the same clock tick as the scan (racy-clean files), and so
does whether the command before persisted a cache at all (`state` missing or ok): a store keeps
only entries older than the 2 s racy window, which a slow or busy machine passes and a fast one not.
The phase timings are wall seconds."""
SEED = 1729


def normalise(audit: Any, roots: dict[str, Path], at: tuple[str, ...] = ()) -> Any:
    """The audit with what varies between runs replaced: VOLATILE_FIELDS by VOLATILE, tmp paths by a token.

    `roots` maps a token (e.g. "<local-root>") to the tmp path it stands for. Pure: returns a copy.
    """
    if _volatile(at):
        return VOLATILE
    if isinstance(audit, dict):
        return {key: normalise(value, roots, (*at, key)) for key, value in audit.items()}
    if isinstance(audit, list):
        return [normalise(value, roots, at) for value in audit]
    if isinstance(audit, str):
        for token, path in sorted(roots.items(), key=lambda item: -len(str(item[1]))):
            audit = audit.replace(str(path), token)
    return audit


def _volatile(at: tuple[str, ...]) -> bool:
    return any(
        len(pattern) == len(at) and all(want in ("*", got) for want, got in zip(pattern, at, strict=True))
        for pattern in VOLATILE_FIELDS
    )


def differences(expected: Any, actual: Any, path: str = "$") -> list[str]:
    """Every JSON path where `actual` differs from `expected`, one line each (empty: equal)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        found = []
        for key in sorted(set(expected) | set(actual)):
            where = f"{path}.{key}"
            if key not in actual:
                found.append(f"{where}: missing (expected {json.dumps(expected[key])[:120]})")
            elif key not in expected:
                found.append(f"{where}: unexpected {json.dumps(actual[key])[:120]}")
            else:
                found += differences(expected[key], actual[key], where)
        return found
    if isinstance(expected, list) and isinstance(actual, list):
        found = (
            [f"{path}: {len(actual)} items, expected {len(expected)}"] if len(expected) != len(actual) else []
        )
        for index, (left, right) in enumerate(zip(expected, actual, strict=False)):
            found += differences(left, right, f"{path}[{index}]")
        return found
    if expected != actual or type(expected) is not type(actual):
        return [f"{path}: {json.dumps(actual)[:120]}, expected {json.dumps(expected)[:120]}"]
    return []


def open_seeded(side: Path, seed: int) -> Dataset:
    """The dataset on `side`, written with a seeded clock and randomness: same bytes every run."""
    return Dataset.open(side, DATASET, ctx=seeded_context(seed))


def hpc_dataset(root: Path) -> None:
    make_dataset(root, source="golden", ctx=seeded_context(SEED))


def synced(run: Sides) -> None:
    """Both sides hold the same dataset after a first pull."""
    hpc_dataset(run.remote_root)
    assert run.usr("pull", DATASET, "loopback", "-y").code == 0, run.last


def new_remote_batch(run: Sides) -> None:
    dataset = open_seeded(run.remote_root, SEED + 1)
    dataset.attach(overlay_table(dataset, "densegen__score", 2.0), namespace="densegen")


def local_overlay(run: Sides) -> None:
    dataset = open_seeded(run.local_root, SEED + 2)
    dataset.attach(overlay_table(dataset, "infer__llr", 0.25), namespace="infer")


def diff_up_to_date(run: Sides) -> None:
    synced(run)
    run.usr("diff", DATASET, "loopback")


def diff_new_remote_batch(run: Sides) -> None:
    synced(run)
    new_remote_batch(run)
    run.usr("diff", DATASET, "loopback")


def pull_new_batch(run: Sides) -> None:
    synced(run)
    new_remote_batch(run)
    run.usr("pull", DATASET, "loopback", "-y")


def pull_no_op(run: Sides) -> None:
    synced(run)
    run.usr("pull", DATASET, "loopback", "-y")


def push_local_overlay(run: Sides) -> None:
    synced(run)
    local_overlay(run)
    run.usr("push", DATASET, "loopback", "-y")


def push_dry_run(run: Sides) -> None:
    synced(run)
    local_overlay(run)
    run.usr("push", DATASET, "loopback", "--dry-run")


def pull_refused_local_changed(run: Sides) -> None:
    """A new remote batch while the laptop changed its side since the last sync: pull must refuse."""
    synced(run)
    new_remote_batch(run)
    local_overlay(run)
    run.usr("pull", DATASET, "loopback", "-y")


def pull_verify_size(run: Sides) -> None:
    hpc_dataset(run.remote_root)
    run.usr("pull", DATASET, "loopback", "-y", "--verify", "size")


def pull_verify_parquet(run: Sides) -> None:
    hpc_dataset(run.remote_root)
    run.usr("pull", DATASET, "loopback", "-y", "--verify", "parquet")


def pull_one_file(run: Sides) -> None:
    """File mode: one parquet file, pulled by its remote path."""
    remote = run.remote_root / "repo" / "outputs" / "records.parquet"
    remote.parent.mkdir(parents=True)
    write_parquet(records_table(0, 20), remote)
    local = run.local_root / "repo" / "outputs" / "records.parquet"
    local.parent.mkdir(parents=True)
    run.usr("pull", str(local), "loopback", "-y", "--remote-path", str(remote))


SCENARIOS: dict[str, Callable[[Sides], None]] = {
    "diff-up-to-date": diff_up_to_date,
    "diff-new-remote-batch": diff_new_remote_batch,
    "pull-new-batch": pull_new_batch,
    "pull-no-op": pull_no_op,
    "push-local-overlay": push_local_overlay,
    "push-dry-run": push_dry_run,
    "pull-refused-local-changed": pull_refused_local_changed,
    "pull-verify-size": pull_verify_size,
    "pull-verify-parquet": pull_verify_parquet,
    "pull-one-file": pull_one_file,
}


@pytest.fixture
def run(tmp_path: Path, remotes_config: Path, remote_base: Path, capsys: pytest.CaptureFixture) -> Sides:
    local_root = tmp_path / "laptop"
    local_root.mkdir()
    audits = tmp_path / "audits"
    audits.mkdir()
    return Sides(local_root, remote_base, remotes_config, audits, capsys)


@pytest.mark.ssh
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_audit_matches_its_golden_file(scenario: str, run: Sides, tmp_path: Path) -> None:
    SCENARIOS[scenario](run)
    assert run.last is not None and run.last.audit is not None, f"{scenario}: the engine wrote no audit"
    roots = {"<local-root>": run.local_root, "<remote-root>": run.remote_root, "<tmp>": tmp_path}
    actual = normalise(run.last.audit, roots)
    golden = GOLDEN_DIR / f"{scenario}.json"
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(json.dumps(actual, indent=2, sort_keys=True) + "\n")
    assert golden.is_file(), f"no golden audit {golden}; run with {UPDATE_ENV}=1 to write it"
    found = differences(json.loads(golden.read_text()), actual)
    assert not found, f"{scenario}: the audit moved from {golden.name}:\n" + "\n".join(found)


def test_normalise_hides_volatile_fields_and_tmp_roots_only() -> None:
    audit = {
        "hash_cache": {"local": {"reads": 14, "state": "missing"}},
        "data": {"target": "/tmp/x/laptop/f.parquet", "reads": 3, "state": "missing"},
    }
    assert normalise(audit, {"<local-root>": Path("/tmp/x/laptop")}) == {
        "hash_cache": {"local": {"reads": VOLATILE, "state": VOLATILE}},
        "data": {"target": "<local-root>/f.parquet", "reads": 3, "state": "missing"},
    }


def test_differences_names_every_json_path_that_moved() -> None:
    expected = {"data": {"plan": {"copy": ["a", "b"]}, "up_to_date": True}, "gone": 1}
    actual = {"data": {"plan": {"copy": ["a", "c", "d"]}, "up_to_date": 1}, "new": 2}
    assert differences(expected, actual) == [
        "$.data.plan.copy: 3 items, expected 2",
        '$.data.plan.copy[1]: "c", expected "b"',
        "$.data.up_to_date: 1, expected true",
        "$.gone: missing (expected 1)",
        "$.new: unexpected 2",
    ]
    assert differences(expected, expected) == []
