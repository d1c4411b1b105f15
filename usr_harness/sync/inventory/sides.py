"""Each side's manifest for one command: the local scan (begun while the login runs) and the agent's reply."""

from __future__ import annotations

import threading
from collections.abc import Iterable

from usr_harness.dataset.layout import EVENTS_FILE
from usr_harness.errors import ConfigError
from usr_harness.sync.inventory.manifest import Manifest
from usr_harness.sync.inventory.presence import check_present
from usr_harness.sync.inventory.scan import add_events_prefix, local_log_size, local_names, scan_dataset
from usr_harness.sync.options import SyncOptions
from usr_harness.sync.plan import base_store
from usr_harness.sync.plan.planner import parquet_changed_since
from usr_harness.sync.state import SyncRun
from usr_harness.sync.transport import Transport


def hash_sections(opts: SyncOptions) -> list[str]:
    sections = ["events"]
    sections += [
        s for s in ("primary", "meta", "snapshots", "derived", "auxiliary") if opts.compare_mode(s) != "size"
    ]
    if opts.verify == "parquet":
        sections.remove("primary")
    return sections


def inventory_local(state: SyncRun, events_prefix: int | None = None, events_base: int | None = None) -> dict:
    opts = state.request.opts
    scan = scan_dataset(
        str(state.local_dir),
        hash_sections=hash_sections(opts),
        parquet=opts.verify in ("parquet", "auto"),
        events_prefix=events_prefix,
        events_base=events_base,
        hashes=state.hashes,
        store=state.store,
    )
    if scan["exists"] and not scan["files"]:
        scan["exists"] = False
    return scan


def scan_local(state: SyncRun, events_prefix: int | None = None, events_base: int | None = None) -> Manifest:
    with state.timings.span("local scan"):
        scan, state.local_inventory = state.local_inventory, None
        if scan is None:
            scan = inventory_local(state, events_prefix, events_base)
        elif scan["events"] is not None:
            log = str(state.local_dir / EVENTS_FILE)
            add_events_prefix(scan["events"], log, events_prefix)
            add_events_prefix(scan["events"], log, events_base, key="base")
        return Manifest.from_scan("local", scan)


def manifest_request(
    state: SyncRun,
    events_prefix: int | None = None,
    known: list[str] | None = None,
    events_base: int | None = None,
) -> dict:
    """`known`: the paths the laptop has or shares a base on; the others are hashed while they stream."""
    opts = state.request.opts
    request = {
        "op": "manifest",
        "dataset": state.request.dataset,
        "hash_sections": hash_sections(opts),
        "parquet": opts.verify in ("parquet", "auto"),
        "events_prefix": events_prefix,
        "events_base": events_base,
        "lock_timeout": opts.lock_timeout,
        "rehash": opts.rehash,
        "rows": True,
    }
    if known is not None:
        request["background_hash_except"] = known
    return request


def _known_paths(local: Iterable[str], base: dict[str, dict] | None) -> list[str]:
    """What a pull's manifest request lists as known to the laptop. One builder for every request,
    so that an asked-ahead request and the one the plan sends are the very same when nothing changed."""
    return sorted({*local, *(base or {})})


def manifest_request_ahead(state: SyncRun) -> dict | None:
    """The command's first manifest request, built before the local scan from the little it needs
    of this side (the event log's size; for a pull the file names), so that the connection sends it
    the moment the agent is up and the remote scans while this side does (20,000 parts: 0.17 s of
    the agent's scan no longer after the local one). `read_manifests` builds its request as ever;
    only the very same gets this answer (`AgentClient.ask_ahead`): a local side that changed in
    between costs one wasted remote scan, never a stale answer."""
    try:
        base = base_store.load_base(state.request.root, state.request.dataset, state.request.remote)
    except ConfigError:
        return None  # the command reports it where it always has
    if state.action == "push":
        return manifest_request(state, events_base=_logged_size(base))
    folder = str(state.local_dir)
    known = _known_paths(local_names(folder), base) if state.action == "pull" else None
    return manifest_request(state, local_log_size(folder), known, _logged_size(base))


def replan_request(state: SyncRun) -> dict:
    """The manifest request a pull's re-plan sends when neither side changed since its plan, built
    from that plan's local scan and base (no second walk of the folder, no second read of the base);
    asked ahead, the agent scans while the laptop does."""
    base = state.base
    known = _known_paths(state.local.files, base)
    return manifest_request(state, _events_size(state.local), known, _logged_size(base))


def scan_remote(
    state: SyncRun,
    agent: Transport,
    events_prefix: int | None = None,
    known: list[str] | None = None,
    events_base: int | None = None,
) -> Manifest:
    request = manifest_request(state, events_prefix, known, events_base)
    with state.timings.span("remote scan"):
        reply = agent.request(request)
    state.remote_cache = reply.get("hash_cache")
    if reply["exists"] and not reply["files"]:
        reply["exists"] = False
    return Manifest.from_scan("remote", reply)


def _logged_size(base: dict[str, dict] | None) -> int | None:
    """The event log's size at the last sync."""
    logged = (base or {}).get(EVENTS_FILE)
    return None if logged is None else logged["size"]


def _events_size(manifest: Manifest) -> int | None:
    entry = manifest.events_entry
    return entry.size if entry is not None else None


def read_manifests(
    state: SyncRun, agent: Transport, action: str, base: dict[str, dict] | None, *, streamed: bool = False
) -> tuple[Manifest, Manifest]:
    """Scan the target first so the source can answer the event-log prefix check in the same pass.

    Both sides also hash their log's first bytes up to its size at the last sync (`base`), so the
    plan tells lines appended since from history rewritten. A pull hashes the remote files neither
    the base nor the laptop knows while they stream (`streamed`; the plan copies them whatever their hash;
    `settle_remote_hashes` collects it). A dataset id neither side holds is refused here.
    """
    state.request.progress.phase("compare")
    events_base = _logged_size(base)
    if action == "push":
        remote = scan_remote(state, agent, events_base=events_base)
        local = scan_local(state, events_prefix=_events_size(remote), events_base=events_base)
    else:
        local = scan_local(state, events_base=events_base)
        known = _known_paths(local.files, base) if streamed else None
        remote = scan_remote(
            state, agent, events_prefix=_events_size(local), known=known, events_base=events_base
        )
    request = state.request
    check_present(
        local, remote, agent, dataset=request.dataset, remote_name=request.remote, root=request.root
    )
    state.local, state.remote = local, remote
    return local, remote


def settle_remote_hashes(state: SyncRun, agent: Transport) -> Manifest:
    """The hashes the agent computed while the files streamed (it re-reads a file changed since)."""
    pending = state.remote.pending_hashes
    if pending:
        with state.timings.span("remote scan"):
            reply = agent.request({"op": "hashes", "dataset": state.request.dataset, "paths": pending})
        state.remote = state.remote.with_hashes(reply["sha256"])
    return state.remote


def will_decode_parquet(state: SyncRun) -> bool:
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


def preload_parquet_checks(after: threading.Event) -> None:
    """Import pyarrow (~0.1 s of CPU) while the login waits on the remote, not after the plan.

    Only `after` the login's own CPU work (paramiko's import and handshake): both hold the GIL,
    so loading beside them slows the login by as much; the agent's remote start is pure wait.
    """

    def load() -> None:
        after.wait()
        from usr_harness.dataset import parquet_io, validation  # noqa: F401

    threading.Thread(target=load, name="usr-preload").start()
