"""Apply a case through its entry point and record what it drew, checking `_derived` was left alone."""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from usr_harness.adversarial.model import AdversarialCase, CaseEnv, CaseOutcome, HostileInput
from usr_harness.dataset import Dataset
from usr_harness.dataset.context import seeded_context
from usr_harness.dataset.fsio import atomic_write_bytes
from usr_harness.dataset.layout import (
    DATASET_LOCK,
    DERIVED_DIR,
    EVENTS_LOCK,
    LEASE_PREFIX,
    REGISTRY_FILE,
    TRANSFER_LOCK,
)
from usr_harness.dataset.registry import REGISTRY_LOCK, load_registry, register_namespace
from usr_harness.errors import UsageError, UsrError
from usr_harness.mock.batch import ensure_overlay_namespaces
from usr_harness.mock.overlays import OVERLAYS, overlay_batch
from usr_harness.mock.records import mock_records

Puller = Callable[[Path, str, Path], None]
"""Pull `dataset_id` into the local root from a remote whose base_dir is the third argument."""

ENGINE_MISSING = "needs the sync engine: pass a puller to run pull cases"
FIXTURE_ROWS = 24
LOCK_NAMES = frozenset({DATASET_LOCK, EVENTS_LOCK, TRANSFER_LOCK, REGISTRY_LOCK})


def prepare_dataset(root: Path, dataset_id: str, seed: int = 0) -> Dataset:
    """A small valid dataset with both mock namespaces registered and a part in each."""
    ensure_overlay_namespaces(root, tuple(OVERLAYS))
    dataset = Dataset.init(root, dataset_id, source="adversarial-fixture", ctx=seeded_context(seed))
    records = mock_records(seed, FIXTURE_ROWS)
    dataset.import_rows(records)
    ids = records.column("id")
    dataset.attach(overlay_batch(seed, "densegen", ids), namespace="densegen")
    dataset.attach(overlay_batch(seed, "infer", ids[: FIXTURE_ROWS // 2]), namespace="infer")
    return dataset


def require_fixture(root: Path, dataset_id: str) -> None:
    """Cases are written against the mock contracts: both namespaces registered with the mock columns
    and at least one densegen part. Anything else would turn an expected rejection into a false fail."""
    Dataset.open(root, dataset_id)
    registry = load_registry(root)
    for spec in OVERLAYS.values():
        registered = registry.namespaces.get(spec.namespace)
        if registered is None or [tuple(column) for column in registered.columns] != list(spec.columns):
            raise UsageError(
                f"{dataset_id}: adversarial cases need namespace {spec.namespace} registered with the mock "
                f"columns ({', '.join(spec.column_names)}); grow the dataset with `usr-harness mock` first",
                dataset=dataset_id,
            )
    if not any((Path(root) / dataset_id / DERIVED_DIR / "densegen").glob("part-*.parquet")):
        raise UsageError(
            f"{dataset_id}: adversarial cases need at least one densegen part; run `usr-harness mock` first",
            dataset=dataset_id,
        )


def _engine_missing(case: AdversarialCase, puller: Puller | None, remote_root: Path | None) -> bool:
    return case.needs_engine and (puller is None or remote_root is None)


def _lock_file(path: Path) -> bool:
    return path.name in LOCK_NAMES or path.name.startswith(LEASE_PREFIX)


def tree_digest(folder: Path) -> dict[str, str]:
    """sha256 of every file under `folder` by relative path; lock files (rewritten by every
    mutation attempt) are left out, temp files are not: a rejection must leave none behind."""
    if not folder.exists():
        return {}
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if not path.is_dir() and not _lock_file(path)
    }


def derived_digest(dataset_dir: Path) -> dict[str, str]:
    """`_derived` by content."""
    return tree_digest(dataset_dir / DERIVED_DIR)


def _enter(case: AdversarialCase, env: CaseEnv, given: HostileInput, puller: Puller | None) -> None:
    """Call the entry point the case targets; any UsrError it raises is the case's verdict."""
    if case.entry_point == "namespace-register":
        register_namespace(env.root, given.namespace, list(given.columns))
    elif case.entry_point == "pull":
        assert puller is not None and env.remote_root is not None, ENGINE_MISSING
        puller(env.root, env.dataset_id, env.remote_root)
    elif case.entry_point == "import":
        Dataset.open(env.root, env.dataset_id).import_rows(given.payload)
    elif case.entry_point == "attach":
        Dataset.open(env.root, env.dataset_id).attach(given.payload, namespace=given.namespace, key=given.key)
    else:
        Dataset.open(env.root, env.dataset_id).validate(strict=True)


def apply_case(
    case: AdversarialCase,
    root: Path,
    dataset_id: str,
    *,
    seed: int = 0,
    remote_root: Path | None = None,
    puller: Puller | None = None,
) -> CaseOutcome:
    """Build the case's input against an existing dataset (see `require_fixture`), apply it, judge it,
    then take back whatever the build planted.

    An accepted input is followed by `validate(strict=True)`: "accepted" must also mean "still valid",
    and an input that gets in but breaks the dataset never counts as a match.
    """
    if _engine_missing(case, puller, remote_root):
        return CaseOutcome(case.id, None, "", matched=False, derived_unchanged=True, skipped=ENGINE_MISSING)
    with staged(case, root, dataset_id, seed=seed, remote_root=remote_root) as (env, given):
        return _judge(case, env, given, puller)


@contextmanager
def staged(
    case: AdversarialCase, root: Path, dataset_id: str, *, seed: int = 0, remote_root: Path | None = None
) -> Iterator[tuple[CaseEnv, HostileInput]]:
    """The case's input built against an existing dataset (see `require_fixture`), for a caller that
    applies it its own way (an engine's command line); whatever the build planted is taken back after."""
    require_fixture(Path(root), dataset_id)
    with tempfile.TemporaryDirectory(prefix="usr-adversarial-") as scratch:
        env = CaseEnv(Path(root), dataset_id, seed, Path(scratch), remote_root)
        registry = env.root / REGISTRY_FILE
        saved = registry.read_bytes()
        existing = set(tree_digest(env.dataset_dir))
        planted: set[str] | None = None
        edited = True
        try:
            given = case.build(env)
            planted = set(tree_digest(env.dataset_dir)) - existing
            edited = registry.read_bytes() != saved
            yield env, given
        finally:
            _take_back(env, saved if edited else None, planted, existing)


def _take_back(env: CaseEnv, registry: bytes | None, planted: set[str] | None, existing: set[str]) -> None:
    """Remove what a case's build planted and restore a registry.yaml it edited, so applying a case to a
    real dataset probes it without leaving the hostile input behind (`planted` None: the build failed)."""
    if registry is not None:
        atomic_write_bytes(env.root / REGISTRY_FILE, registry)
    leftovers = set(tree_digest(env.dataset_dir)) - existing if planted is None else planted
    for relative in leftovers:
        (env.dataset_dir / relative).unlink(missing_ok=True)


def _judge(case: AdversarialCase, env: CaseEnv, given: HostileInput, puller: Puller | None) -> CaseOutcome:
    before = derived_digest(env.dataset_dir)
    try:
        _enter(case, env, given, puller)
    except UsrError as error:
        unchanged = derived_digest(env.dataset_dir) == before
        matched = error.family == case.expected_family and case.expected_token in error.message
        return CaseOutcome(case.id, error.family, error.message, matched, unchanged)
    if case.entry_point != "validate-strict":
        try:
            Dataset.open(env.root, env.dataset_id).validate(strict=True)
        except UsrError as error:
            message = f"accepted, then validate --strict failed: {error.message}"
            return CaseOutcome(case.id, error.family, message, matched=False, derived_unchanged=True)
    return CaseOutcome(case.id, None, "", matched=case.expected_family is None, derived_unchanged=True)


def run_case(
    case: AdversarialCase,
    root: Path,
    *,
    seed: int = 0,
    dataset_id: str = "adversarial",
    remote_root: Path | None = None,
    puller: Puller | None = None,
) -> CaseOutcome:
    """Apply `case` against a fresh valid dataset created under `root` (which must not hold `dataset_id`)."""
    if not _engine_missing(case, puller, remote_root):
        prepare_dataset(Path(root), dataset_id, seed)
    return apply_case(case, root, dataset_id, seed=seed, remote_root=remote_root, puller=puller)
