"""One adversarial case driven through the engine under test: its own attach, import, namespace
register, validate --strict or pull command line, judged by what it says and what it wrote.

The harness builds the case's input (a valid dataset, then the hostile file or planted part) and
takes it back afterwards; the engine alone decides. A refusal must be the case's family (or, for
an engine without the contract's families, a refusal that is not the link, the login or its own
command line) and leave the dataset and the registry byte for byte as they were; an input the
case says is fine must be accepted and then pass the engine's own `validate --strict`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from usr_harness.adversarial.model import AdversarialCase, CaseEnv, HostileInput
from usr_harness.adversarial.runner import prepare_dataset, staged, tree_digest
from usr_harness.dataset.layout import REGISTRY_FILE
from usr_harness.engines import EngineResult

from .conftest import REMOTE, Sync

DATASET_ID = "adversarial"


def _file(env: CaseEnv, given: HostileInput, name: str, fmt: str = "parquet") -> Path:
    """The hostile input as a file an engine's command line can name, in the format it reads."""
    if given.path is not None:
        return given.path
    path = env.workdir / f"{name}.{fmt}"
    if fmt == "parquet":
        # Arrow's own list field name (`item`), as the table was built: the case's words name it so.
        pq.write_table(given.payload, path, use_compliant_nested_type=False)
    elif fmt == "jsonl":
        rows = given.payload.to_pylist()
        path.write_text("".join(json.dumps(row, default=_iso) + "\n" for row in rows), encoding="utf-8")
    else:
        pacsv.write_csv(given.payload, path)
    return path


def _iso(value: Any) -> str:
    """Timestamps as ISO 8601, with their offset only when they have one (a naive one stays naive)."""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _enter(sync: Sync, case: AdversarialCase, env: CaseEnv, given: HostileInput) -> EngineResult:
    engine = sync.engine
    if case.entry_point == "attach":
        path = _file(env, given, "overlay")
        return engine.attach(env.dataset_id, path, given.namespace, given.key)
    if case.entry_point == "import":
        fmt = engine.profile.import_format
        return engine.import_file(env.dataset_id, _file(env, given, "records", fmt), fmt)
    if case.entry_point == "namespace-register":
        columns = ",".join(f"{name}:{kind}" for name, kind in given.columns)
        return engine.register_namespace(given.namespace, columns)
    if case.entry_point == "validate-strict":
        return engine.validate(env.dataset_id, "--strict")
    assert env.remote_root is not None
    sync.retarget(base_dir=env.remote_root)
    return engine.pull(env.dataset_id, REMOTE)


def _tail(result: EngineResult) -> str:
    return result.message.strip()[-300:]


def _state(env: CaseEnv) -> dict[str, Any]:
    registry = env.root / REGISTRY_FILE
    return {"dataset": tree_digest(env.dataset_dir), "registry": registry.read_bytes()}


def drive_case(sync: Sync, case: AdversarialCase) -> list[str]:
    """Run `case` through the engine; the problems found (empty: the engine met the case)."""
    root = sync.local_root
    remote_root = None
    if case.entry_point == "pull":
        remote_root = sync.remote_root / "hostile"
        remote_root.mkdir()
    prepare_dataset(root, DATASET_ID, sync.record.seed)
    with staged(case, root, DATASET_ID, seed=sync.record.seed, remote_root=remote_root) as (env, given):
        before = _state(env)
        label = f"{case.entry_point}-{len(sync.record.evidence)}"
        result = sync.call(label, lambda: _enter(sync, case, env, given))
        after = _state(env)
        problems = []
        if case.expected_family is None:
            if not result.ok:
                problems.append(f"refused an input the contract accepts: {result.message.strip()[-300:]}")
            else:
                checked = sync.validate("--strict", dataset=DATASET_ID)
                if not checked.ok:
                    problems.append(f"accepted, then validate --strict refused: {_tail(checked)}")
            return problems
        if not sync.refused(result, case.expected_family):
            outcome = "accepted it" if result.ok else f"refused as {result.family}"
            problems.append(
                f"{case.entry_point} of {case.id} must be refused as {case.expected_family}; the engine "
                f"{outcome}: {result.message.strip()[-300:]}"
            )
        elif not sync.says(result, case.expected_token):
            problems.append(f"the refusal does not say {case.expected_token!r}: {_tail(result)}")
        changed = sorted(
            path
            for path in before["dataset"].keys() | after["dataset"].keys()
            if before["dataset"].get(path) != after["dataset"].get(path)
        )
        if before["registry"] != after["registry"]:
            changed.append(REGISTRY_FILE)
        if changed:
            problems.append(f"a refused {case.entry_point} wrote {', '.join(changed[:10])}")
        return problems
