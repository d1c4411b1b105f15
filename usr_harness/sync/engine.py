"""`usr diff | pull | push`: manifests, diff, plan, staged transfer, promotion, post-verify, audit.

One SSH connection and one agent channel per command. Every failure writes the
audit (transfer_state FAILED, `error`) and leaves both sides as they were, or, once
a promotion journal is committed, wholly new.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from usr_harness.dataset.flock import LockTimeout, acquire_dataset, release_all
from usr_harness.dataset.journal import JournalConflict, journal_path, journal_pending
from usr_harness.dataset.layout import EVENTS_FILE, META_FILE, check_dataset_id
from usr_harness.dataset.quoting import quote
from usr_harness.errors import (
    FAMILY_BY_NAME,
    ConfigError,
    LockError,
    StagingError,
    UsageError,
    UsrError,
    VerifyError,
)
from usr_harness.faults.points import ENV_VAR as FAULT_ENV
from usr_harness.faults.points import FaultInjected, fault_point, parse_spec
from usr_harness.sync import base_store, promotion, space, verify
from usr_harness.sync.audit import (
    AuditRecord,
    TransferBlock,
    build_audit,
    post_report,
    render_plain,
)
from usr_harness.sync.command import gate, publish, publish_failure
from usr_harness.sync.diff import DiffResult, diff_manifests
from usr_harness.sync.hash_cache import HashCache
from usr_harness.sync.hash_store import HashStore, store_path
from usr_harness.sync.manifest import Manifest
from usr_harness.sync.options import SyncOptions
from usr_harness.sync.plan import Plan, base_from, parquet_changed_since, plan_sync, primary_missing
from usr_harness.sync.progress import SILENT, Observer
from usr_harness.sync.receive import ReceivingStage, receive_order
from usr_harness.sync.remote.client import AgentClient
from usr_harness.sync.remote.connect import PendingAgent, connect_agent_in_background
from usr_harness.sync.remote.profiles import get_profile
from usr_harness.sync.scan import add_events_prefix, scan_dataset


@dataclass
class SyncRequest:
    root: Path
    dataset: str
    remote: str
    remotes_config: Path | None
    opts: SyncOptions = field(default_factory=SyncOptions)
    audit_json_out: Path | None = None
    confirm: Callable[[str], bool] | None = None
    echo: Callable[[str], None] = print
    progress: Observer = SILENT


@dataclass
class _Run:
    """What one command learned so far: enough to write an honest audit at any failure."""

    action: str
    request: SyncRequest
    local: Manifest | None = None
    remote: Manifest | None = None
    diff: DiffResult | None = None
    record: AuditRecord = field(default_factory=AuditRecord)
    finished: bool = False
    local_inventory: dict | None = None
    """The first local inventory, taken while the connection is being made; used once."""
    hashes: HashCache = field(default_factory=HashCache)
    store: HashStore | None = None
    """The local hashes earlier commands persisted (`ROOT/.usr-sync/hashes/`)."""
    remote_cache: dict | None = None
    """The remote cache's state and counters, from the agent's last manifest reply."""

    @property
    def local_dir(self) -> Path:
        return self.request.root / self.request.dataset

    def audit(self, state: str) -> dict:
        """The audit; the hash caches' counters sit beside `data`, which stays a function of the state."""
        audit = build_audit(
            action=self.action,
            transfer_state=state,
            dataset=self.request.dataset,
            remote=self.request.remote,
            opts=self.request.opts,
            local=self.local,
            remote_manifest=self.remote,
            diff=self.diff,
            record=self.record,
        )
        if self.store is not None:
            local = {**self.store.report(), "reads": self.hashes.reads}
            audit["hash_cache"] = {"local": local, "remote": self.remote_cache}
        return audit


def run(action: str, request: SyncRequest) -> dict:
    """Run one sync command; returns the audit, raises the UsrError family after writing it."""
    request.opts.check(action)
    try:
        check_dataset_id(request.dataset)
    except ValueError as error:
        raise UsageError(str(error)) from None
    state = _Run(action, request)
    state.store = HashStore.load(
        store_path(str(request.root), request.dataset), trust=not request.opts.rehash
    )
    try:
        profile = get_profile(request.remote, request.remotes_config)
        request.progress.phase("connect")
        with connect_agent_in_background(profile) as pending:
            try:
                transfer_state = _connected(state, pending)
            finally:
                _save_local_hashes(state)
    except FaultInjected as fault:
        error = StagingError(f"{request.dataset}: {fault}")
        _finish_failed(state, error)
        raise error from None
    except JournalConflict as conflict:
        error = StagingError(
            f"local {request.dataset}: {conflict}",
            paths=[conflict.relpath],
            dataset=request.dataset,
            side="local",
        )
        _finish_failed(state, error)
        raise error from None
    except OSError as failure:
        if not space.is_disk_full(failure):
            raise
        error = StagingError(
            f"local {request.dataset}: disk full writing {quote(failure.filename or request.root)} "
            f"({failure.strerror})",
            paths=[str(failure.filename or request.root)],
            dataset=request.dataset,
            side="local",
        )
        _finish_failed(state, error)
        raise error from None
    except UsrError as error:
        if not state.finished:
            _finish_failed(state, error)
        raise
    return _finish(state, transfer_state)


def _connected(state: _Run, pending: PendingAgent) -> str:
    """The local inventory is taken while the login runs; then the action, over the agent."""
    _recover_local(state)
    state.local_inventory = _inventory_local(state)
    if _will_decode_parquet(state):
        _load_parquet_checks_in_background()
    agent = pending.agent()
    try:
        return _ACTIONS[state.action](state, agent)
    except BaseException:
        _abort_remote(agent, state.request.dataset)
        raise


def _save_local_hashes(state: _Run) -> None:
    """Persist what this command can vouch for; a side where it cannot be written keeps no cache."""
    with contextlib.suppress(OSError):
        state.store.save(state.hashes)


def _will_decode_parquet(state: _Run) -> bool:
    """A bootstrap pull, or a push of parquet files changed since the last sync (before any plan)."""
    inventory = state.local_inventory
    if state.action == "pull":
        return not inventory["exists"]
    if state.action != "push" or not inventory["exists"]:
        return False
    try:
        base = base_store.load_base(state.request.root, state.request.dataset, state.request.remote)
    except ConfigError:
        return False  # the plan reports an unreadable base
    return parquet_changed_since(Manifest.from_scan("local", inventory), base)


def _load_parquet_checks_in_background() -> None:
    """Import pyarrow (~0.3 s) while the login waits, not after the plan."""

    def load() -> None:
        from usr_harness.dataset import parquet_io, validation  # noqa: F401

    threading.Thread(target=load, name="usr-preload").start()


def _finish(state: _Run, transfer_state: str) -> dict:
    """Print the audit block and write the audit JSON; a JSON that cannot be written is `staging`."""
    state.finished = True
    return publish(state.audit(transfer_state), *_published(state))


def _finish_failed(state: _Run, error: UsrError, transfer_state: str = "FAILED") -> None:
    """Record `error` in the audit; an audit that cannot be written is a warning beside it, never
    in its place."""
    state.record.error = error.as_dict()
    state.finished = True
    publish_failure(state.audit(transfer_state), *_published(state))


def _published(state: _Run) -> tuple[Callable[[str], None], Path | None, str, str]:
    """Where the audit goes: the printed block, the JSON file, the local side's name, the dataset."""
    request = state.request
    return request.echo, request.audit_json_out, f"local {request.dataset}", request.dataset


def _abort_remote(agent: AgentClient, dataset: str) -> None:
    with contextlib.suppress(UsrError):
        agent.request({"op": "abort", "dataset": dataset})


def _recover_local(state: _Run) -> None:
    folder = str(state.local_dir)
    if promotion.needs_recovery(folder):
        held = _lock_local(state)
        try:
            for note in promotion.recover(folder):
                state.request.echo(f"recovery: local {state.request.dataset}: {note}")
        finally:
            release_all(held)


def _lock_local(state: _Run) -> list:
    os.makedirs(state.local_dir, exist_ok=True)
    try:
        return acquire_dataset(str(state.local_dir), exclusive=True, timeout=state.request.opts.lock_timeout)
    except LockTimeout as error:
        raise LockError(f"local {state.request.dataset}: {error}", paths=[error.path]) from None


def _hash_sections(opts: SyncOptions) -> list[str]:
    sections = ["events"]
    sections += [
        s for s in ("primary", "meta", "snapshots", "derived", "auxiliary") if opts.compare_mode(s) != "size"
    ]
    if opts.verify == "parquet":
        sections.remove("primary")
    return sections


def _inventory_local(state: _Run, events_prefix: int | None = None, events_base: int | None = None) -> dict:
    opts = state.request.opts
    scan = scan_dataset(
        str(state.local_dir),
        hash_sections=_hash_sections(opts),
        parquet=opts.verify in ("parquet", "auto"),
        events_prefix=events_prefix,
        events_base=events_base,
        hashes=state.hashes,
        store=state.store,
    )
    if scan["exists"] and not scan["files"]:
        scan["exists"] = False
    return scan


def _scan_local(state: _Run, events_prefix: int | None = None, events_base: int | None = None) -> Manifest:
    scan, state.local_inventory = state.local_inventory, None
    if scan is None:
        scan = _inventory_local(state, events_prefix, events_base)
    elif scan["events"] is not None:
        log = str(state.local_dir / EVENTS_FILE)
        add_events_prefix(scan["events"], log, events_prefix)
        add_events_prefix(scan["events"], log, events_base, key="base")
    return Manifest.from_scan("local", scan)


def _scan_remote(
    state: _Run,
    agent: AgentClient,
    events_prefix: int | None = None,
    known: list[str] | None = None,
    events_base: int | None = None,
) -> Manifest:
    """`known`: the paths the laptop has or shares a base on; the others are hashed while they stream."""
    opts = state.request.opts
    request = {
        "op": "manifest",
        "dataset": state.request.dataset,
        "hash_sections": _hash_sections(opts),
        "parquet": opts.verify in ("parquet", "auto"),
        "events_prefix": events_prefix,
        "events_base": events_base,
        "lock_timeout": opts.lock_timeout,
        "rehash": opts.rehash,
    }
    if known is not None:
        request["background_hash_except"] = known
    reply = agent.request(request)
    state.remote_cache = reply.get("hash_cache")
    if reply["exists"] and not reply["files"]:
        reply["exists"] = False
    return Manifest.from_scan("remote", reply)


def _events_size(manifest: Manifest) -> int | None:
    entry = manifest.events_entry
    return entry.size if entry is not None else None


def _manifests(
    state: _Run, agent: AgentClient, action: str, base: dict[str, dict] | None, *, streamed: bool = False
) -> tuple[Manifest, Manifest]:
    """Scan the target first so the source can answer the event-log prefix check in the same pass.

    Both sides also hash their log's first bytes up to its size at the last sync (`base`), so the
    plan tells lines appended since from history rewritten. A pull hashes the remote files neither
    the base nor the laptop knows while they stream (`streamed`; the plan copies them whatever their hash;
    `_settle_remote_hashes` collects it).
    """
    state.request.progress.phase("compare")
    logged = (base or {}).get(EVENTS_FILE)
    events_base = None if logged is None else logged["size"]
    if action == "push":
        remote = _scan_remote(state, agent, events_base=events_base)
        local = _scan_local(state, events_prefix=_events_size(remote), events_base=events_base)
    else:
        local = _scan_local(state, events_base=events_base)
        known = sorted({*local.files, *(base or {})}) if streamed else None
        remote = _scan_remote(
            state, agent, events_prefix=_events_size(local), known=known, events_base=events_base
        )
    state.local, state.remote = local, remote
    state.diff = diff_manifests(local, remote, state.request.opts)
    return local, remote


def _raise_plan_failure(plan: Plan, dataset: str) -> None:
    failure = plan.first_failure()
    if failure:
        family, message, paths = failure
        raise FAMILY_BY_NAME[family](f"{dataset}: {message}", paths=paths, dataset=dataset)


def do_diff(state: _Run, agent: AgentClient) -> str:
    base = base_store.load_base(state.request.root, state.request.dataset, state.request.remote)
    local, remote = _manifests(state, agent, "pull", base)
    plan = plan_sync("pull", local, remote, base, state.request.opts, state.diff.primary_mode)
    corruption = Plan("diff", problems=[p for p in plan.problems if p.corruption])
    failure = corruption.first_failure()
    if failure:
        family, message, paths = failure
        error = FAMILY_BY_NAME[family](f"{state.request.dataset}: {message}", paths=paths)
        _finish_failed(state, error, "DIFF-ONLY")
        raise error
    return "DIFF-ONLY"


def _plan(state: _Run, agent: AgentClient, action: str) -> Plan:
    base = base_store.load_base(state.request.root, state.request.dataset, state.request.remote)
    local, remote = _manifests(state, agent, action, base, streamed=action == "pull")
    missing = primary_missing(action, local, remote)
    if missing:
        raise VerifyError(f"{state.request.dataset}: {missing}", paths=["records.parquet"])
    plan = plan_sync(action, local, remote, base, state.request.opts, state.diff.primary_mode)
    _raise_plan_failure(plan, state.request.dataset)
    if EVENTS_FILE in plan.kept:
        verify.check_kept_log(action, state.local_dir, state.request.dataset, agent)
    return plan


def _gate(state: _Run, plan: Plan) -> str | None:
    """NO-OP, DRY-RUN or a declined prompt end the command before any lock is taken."""
    request = state.request
    state.record.plan = {"copy": plan.copy, "delete": plan.delete, "forced": plan.forced}
    state.record.kept = {"side": "local" if state.action == "pull" else "remote", "paths": plan.kept}
    if plan.noop:
        if not state.diff.changed:
            base_store.save_base(
                request.root, request.dataset, request.remote, base_from(state.local, state.remote)
            )
        return "NO-OP"

    def question() -> str:
        summary = render_plain(state.audit("DIFF-ONLY"))
        return f"{summary}\n{state.action} {len(plan.copy)} file(s), delete {len(plan.delete)}?"

    return gate(request.opts, request.confirm, f"{state.action} of {request.dataset}", question)


def _check_bootstrap_identity(state: _Run, agent: AgentClient) -> None:
    """On a bootstrap pull, the remote dataset must call itself by the id we asked for."""
    if state.local.exists or META_FILE not in state.remote.files:
        return
    seen: list[str] = []

    def sink(path: str, size: int, blocks: Iterator[bytes]) -> None:
        seen.append(b"".join(blocks).decode("utf-8", "replace"))

    agent.get_files(state.request.dataset, [META_FILE], sink)
    first = seen[0].splitlines()[0].strip() if seen and seen[0] else ""
    expected = f"name: {state.request.dataset}"
    if first != expected:
        message = f"bootstrap id mismatch: remote meta.md says {first!r}, expected {expected!r}"
        if state.request.opts.strict_bootstrap_id:
            raise VerifyError(f"{state.request.dataset}: {message}", paths=[META_FILE])
        state.request.echo(f"WARNING: {message}")


def do_pull(state: _Run, agent: AgentClient) -> str:
    request = state.request
    plan = _plan(state, agent, "pull")
    if not state.local.exists:
        _check_bootstrap_identity(state, agent)
    gated = _gate(state, plan)
    if gated:
        _settle_remote_hashes(state, agent)
        return gated
    created = not state.local_dir.exists()
    held = _lock_local(state)
    try:
        agent.request(
            {
                "op": "lock",
                "dataset": request.dataset,
                "exclusive": False,
                "timeout": request.opts.lock_timeout,
            }
        )
        plan = _plan(state, agent, "pull")
        source = _pull_transfer(state, agent, plan)
        fault_point("before-post-verify")
        request.progress.phase("post-verify")
        after = _scan_local(state)
        _post_verify(state, after, source, plan.kept)
        base_store.save_base(
            request.root, request.dataset, request.remote, base_from(source, after, plan.kept)
        )
    except BaseException:
        if created:
            _drop_created_local(state)
        raise
    finally:
        release_all(held)
    return "TRANSFERRED"


def _drop_created_local(state: _Run) -> None:
    """A bootstrap that failed before promotion must not leave an empty dataset folder behind."""
    folder = str(state.local_dir)
    if (
        os.path.isdir(folder)
        and not promotion.needs_recovery(folder)
        and not scan_dataset(folder, hash_sections=[])["files"]
    ):
        shutil.rmtree(folder, ignore_errors=True)


def _pull_transfer(state: _Run, agent: AgentClient, plan: Plan) -> Manifest:
    """Stage, verify and promote; returns the remote manifest with every hash settled."""
    source = state.remote
    folder = str(state.local_dir)
    fault_point("before-staging")
    needed = _preflight_local(state, plan)
    stage = promotion.new_stage(folder)
    receiving = None
    try:
        fault_point("after-preflight", stage)
        checks = verify.StagedChecks(state.request.dataset, state.local_dir, stage, source)
        receiving = ReceivingStage(stage, checks.check, on_file=_mid_transfer_fault(), hashes=state.hashes)
        with receiving:
            _moving(state, plan, source, lambda: (agent.stats.files_received, agent.stats.bytes_received))
            agent.get_files(
                state.request.dataset,
                receive_order(plan.copy),
                receiving.sink,
                footer_first=verify.checked_while_arriving(plan.copy, source),
                on_footer=receiving.footer,
            )
            failures = receiving.failures()
        state.request.progress.phase("verify")
        source = _settle_remote_hashes(state, agent)
        received = receiving.received
        dataset = state.request.dataset
        verify.verify_staged(dataset, state.local_dir, stage, plan.copy, source, received, failures, needed)
        fault_point("after-staging", stage)
        state.request.progress.phase("promote")
    except OSError as error:
        current = receiving.current if receiving is not None else None
        raise _drop_stage(state, stage, current or stage, needed, error) from None
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    moved = sum(size for size, _ in receiving.received.values())
    state.record.transfer = _transfer_stats(plan, moved)
    try:
        promotion.promote(
            folder,
            stage,
            plan.copy,
            plan.delete,
            on_step=lambda: fault_point("mid-promotion"),
            hashes=state.hashes,
        )
    except OSError as error:
        if journal_pending(folder):
            raise  # committed: the next command rolls it forward
        raise _drop_stage(state, stage, journal_path(folder), needed, error) from None
    return source


def _preflight_local(state: _Run, plan: Plan) -> int:
    """Before any byte moves: the local filesystem must hold every file the pull stages; returns
    the bytes the stage needs."""
    sizes = [state.remote.files[path].size for path in plan.copy]
    parent = space.existing_ancestor(os.path.dirname(os.path.normpath(state.local_dir)))
    short = space.shortfall(parent, sizes)
    if short:
        where = f"local {state.request.dataset}"
        raise StagingError(
            space.preflight_message(where, parent, len(sizes), *short),
            paths=[parent],
            dataset=state.request.dataset,
            side="local",
        )
    return space.bytes_needed(parent, sizes)


def _drop_stage(state: _Run, stage: str, path: str, needed: int, error: OSError) -> StagingError:
    """Remove the stage after a failed write and name the failure (the free space of a full disk is
    measured before the stage goes)."""
    failure = verify.staging_failure(state.request.dataset, path, stage, needed, error)
    shutil.rmtree(stage, ignore_errors=True)
    return failure


def _settle_remote_hashes(state: _Run, agent: AgentClient) -> Manifest:
    """The hashes the agent computed while the files streamed (it re-reads a file changed since)."""
    pending = state.remote.pending_hashes
    if pending:
        reply = agent.request({"op": "hashes", "dataset": state.request.dataset, "paths": pending})
        state.remote = state.remote.with_hashes(reply["sha256"])
    return state.remote


def _mid_transfer_fault() -> Callable[[], None]:
    """A per-file callback that fires the `mid-transfer` fault point once the first file has moved."""
    moved = 0

    def on_file() -> None:
        nonlocal moved
        moved += 1
        if moved == 1:
            fault_point("mid-transfer")

    return on_file


def _moving(state: _Run, plan: Plan, source: Manifest, counters: Callable[[], tuple[int, int]]) -> None:
    """Tell the observer what is about to move; it reads the channel's counters from here on."""
    files0, bytes0 = counters()

    def moved() -> tuple[int, int]:
        files, sent = counters()
        return files - files0, sent - bytes0

    total = sum(source.files[path].size for path in plan.copy)
    state.request.progress.transfer(len(plan.copy), total, moved)


def _transfer_stats(plan: Plan, moved: int) -> TransferBlock:
    return {"files": len(plan.copy), "bytes": moved, "deleted": len(plan.delete)}


def _post_verify(state: _Run, target: Manifest, source: Manifest, kept: list[str]) -> None:
    post = verify.post_diff(target, source, state.action, kept, state.request.opts)
    state.record.post = post_report(post)
    verify.check_post(post, state.action, state.request.dataset)


def do_push(state: _Run, agent: AgentClient) -> str:
    request = state.request
    verify.check_local_log(state.local_dir, request.dataset)
    plan = _plan(state, agent, "push")
    gated = _gate(state, plan)
    if gated:
        return gated
    held = _lock_local(state)
    try:
        agent.request(
            {
                "op": "lock",
                "dataset": request.dataset,
                "exclusive": True,
                "timeout": request.opts.lock_timeout,
            }
        )
        plan = _plan(state, agent, "push")
        source, target = state.local, state.remote
        _push_transfer(state, agent, plan, source, target)
        fault_point("before-post-verify")
        request.progress.phase("post-verify")
        after = _scan_remote(state, agent)
        _post_verify(state, after, source, plan.kept)
        base_store.save_base(
            request.root, request.dataset, request.remote, base_from(source, after, plan.kept)
        )
    finally:
        release_all(held)
    return "TRANSFERRED"


def _push_transfer(state: _Run, agent: AgentClient, plan: Plan, source: Manifest, target: Manifest) -> None:
    dataset = state.request.dataset
    fault_point("before-staging")
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="usr-verify") as pool:
        # Decoding releases the GIL: the local parquet files are checked while they upload, and
        # nothing is promoted until every check has passed (a failure discards the remote stage).
        checks = [
            pool.submit(verify.verify_parquet, state.local_dir / path, dataset, path)
            for path in plan.copy
            if path.endswith(".parquet")
        ]
        opening = {"op": "stage", "dataset": dataset, "sizes": [source.files[p].size for p in plan.copy]}
        opening.update(_remote_fault("after-preflight"))
        agent.request(opening)
        files = [(path, state.local_dir / path) for path in plan.copy]
        _moving(state, plan, source, lambda: (agent.stats.files_sent, agent.stats.bytes_sent))
        agent.put_files(dataset, files, _mid_transfer_fault())
        state.request.progress.phase("verify")
        for check in checks:
            check.result()
    fault_point("after-staging")
    install = [
        {
            "path": path,
            "sha256": source.files[path].sha256 or state.hashes.sha256(str(state.local_dir / path)),
        }
        for path in plan.copy
    ]
    expect: dict[str, str | None] = {}
    for path in [*plan.copy, *plan.delete]:
        entry = target.files.get(path)
        if entry is None or entry.sha256:
            expect[path] = None if entry is None else entry.sha256
    request = {"op": "promote", "dataset": dataset, "install": install, "delete": plan.delete}
    request.update({"expect": expect, "events": {"check": True}})
    request.update(_remote_fault("mid-promotion"))
    state.record.transfer = _transfer_stats(plan, agent.stats.bytes_sent)
    state.request.progress.phase("promote")
    agent.request(request)


def _remote_fault(point: str) -> dict[str, str]:
    """A fault point that fires inside the remote agent during a push: `{"fault": action}` when armed."""
    armed = os.environ.get(FAULT_ENV)
    if armed and parse_spec(armed)[0] == point:
        return {"fault": parse_spec(armed)[1]}
    return {}


_ACTIONS = {"diff": do_diff, "pull": do_pull, "push": do_push}
