"""What a transfer must prove around promotion: staged bytes, parquet pages, event logs, the re-diff.

Pure checks on plain values (folders, manifests, the dataset name): each raises the named
`UsrError` the audit reports and never changes a file, so a refusal leaves both sides as they were.
"""

from __future__ import annotations

import threading
from pathlib import Path

from usr_harness.dataset.layout import EVENTS_FILE
from usr_harness.dataset.quoting import quote
from usr_harness.errors import FAMILY_BY_NAME, StagingError, UsrError, VerifyError
from usr_harness.sync.inventory.manifest import Manifest
from usr_harness.sync.move import space
from usr_harness.sync.options import SyncOptions
from usr_harness.sync.plan.diff import DiffResult, diff_manifests
from usr_harness.sync.transport import Transport


class StagedChecks:
    """Each staged parquet file decoded with page checksums (parts also against their registry)."""

    def __init__(self, dataset: str, local_dir: Path, stage: str, source: Manifest) -> None:
        self.dataset = dataset
        self.local_dir = local_dir
        self.stage = Path(stage)
        self.source = source
        self._known: dict | None = None
        self._known_lock = threading.Lock()

    def check(self, path: str) -> None:
        """Run in the receiving pool once `path` is whole in the stage."""
        from usr_harness.dataset.parquet_io import verify_parquet
        from usr_harness.dataset.validation import check_incoming_part

        if not path.endswith(".parquet"):
            return
        if self.source.files[path].section != "derived":
            verify_parquet(self.stage / path)
            return
        check_incoming_part(self.stage, path, dataset_id=self.dataset, known=self._registries())

    def _registries(self) -> dict:
        """Loaded at the first part: `receive_order` delivers every frozen registry before any part."""
        from usr_harness.dataset.validation import incoming_registries

        with self._known_lock:
            if self._known is None:
                self._known = incoming_registries(self.local_dir, self.stage)
            return self._known


def checked_while_arriving(paths: list[str], source: Manifest) -> list[str]:
    """The primary and snapshots (not parts: they are checked against their registry when whole)."""
    return [path for path in paths if path.endswith(".parquet") and source.files[path].section != "derived"]


def staging_failure(dataset: str, path: str, stage: str, needed: int | None, error: OSError) -> StagingError:
    """A local staged write failed: no room after the preflight (a file grew, another writer filled
    the disk), a name the filesystem already holds, or another refusal of the system."""
    where = f"local {dataset}"
    return StagingError(
        space.staging_message(where, path, stage, needed, error),
        paths=[path],
        dataset=dataset,
        side="local",
    )


def verify_staged(
    dataset: str,
    local_dir: Path,
    stage: str,
    paths: list[str],
    source: Manifest,
    received: dict[str, tuple[int, str]],
    failures: dict[str, BaseException],
    needed: int | None = None,
) -> None:
    """Every staged file against the remote manifest, parquet decoded with page checksums, log rules."""
    from usr_harness.dataset.events import validate_event_log

    bad = []
    for path in paths:
        expected = source.files[path]
        got = received.get(path)
        unproven = expected.hash_pending or (
            expected.sha256 and got is not None and got[1] != expected.sha256
        )
        if got is None or got[0] != expected.size or unproven:
            bad.append(path)
    if bad:
        family = VerifyError if "records.parquet" in bad else FAMILY_BY_NAME["sidecars"]
        raise family(
            f"{dataset}: staged files do not match the remote manifest: {', '.join(map(quote, bad[:5]))}",
            paths=bad,
        )
    for path, error in failures.items():
        if isinstance(error, VerifyError):
            raise VerifyError(
                f"{dataset}: {quote(path)} fails parquet checksum decoding: {error}", paths=[path]
            ) from None
        if isinstance(error, UsrError):
            raise error
        if isinstance(error, OSError):
            raise staging_failure(dataset, path, stage, needed, error) from None
        raise StagingError(f"{dataset}: cannot stage {quote(path)}: {error}", paths=[path]) from None
    if EVENTS_FILE in paths:
        staged_log = Path(stage, EVENTS_FILE).read_bytes()
        validate_event_log(staged_log, source=f"remote {dataset}/{EVENTS_FILE}")
        local_log = local_dir / EVENTS_FILE
        if local_log.exists() and not staged_log.startswith(local_log.read_bytes()):
            raise FAMILY_BY_NAME["events"](
                f"{dataset}: local .events.log is not a prefix of remote .events.log", paths=[EVENTS_FILE]
            )


def verify_parquet(path: Path, dataset: str, rel: str) -> None:
    """A push's local parquet file, decoded while it uploads; named as the audit names it."""
    verify_parquet_as(path, f"{dataset}: {quote(rel)}", [rel])


def verify_parquet_as(path: Path, name: str, paths: list[str]) -> None:
    """`path` decoded with page checksums; a failure is `verify`, its message opening with `name`."""
    from usr_harness.dataset.parquet_io import verify_parquet as decode

    try:
        decode(path)
    except UsrError as error:
        raise VerifyError(f"{name} fails parquet checksum decoding: {error}", paths=paths) from None


def post_diff(
    target: Manifest, source: Manifest, action: str, kept: list[str], opts: SyncOptions
) -> DiffResult:
    """The re-diff after a transfer, over the included sections, without the target's kept additions."""
    local, remote = (target, source) if action == "pull" else (source, target)
    post = diff_manifests(local, remote, opts)
    included = opts.included_sections()
    for name in list(post.sections):
        if name not in included:
            del post.sections[name]
    for section in post.sections.values():
        section.local_only = [path for path in section.local_only if path not in kept]
        section.remote_only = [path for path in section.remote_only if path not in kept]
    if "events" not in included or EVENTS_FILE in kept:
        post.events_changed = False
    return post


def check_post(post: DiffResult, action: str, dataset: str) -> None:
    """A re-diff that still differs is a failed transfer: the primary is `verify`, the rest `sidecars`."""
    if post.changed:
        primary_bad = "primary" in post.sections and post.sections["primary"].changed
        token = f"post-{action}" if primary_bad else f"post-{action}-sidecars"
        family = VerifyError if primary_bad else FAMILY_BY_NAME["sidecars"]
        raise family(f"{dataset}: {token} verification found differences after transfer")


def check_local_log(local_dir: Path, dataset: str) -> None:
    """A push never sends an event log that breaks the log rules."""
    from usr_harness.dataset.events import validate_event_log

    log = local_dir / EVENTS_FILE
    if log.is_file() and not log.is_symlink():
        validate_event_log(log.read_bytes(), source=f"local {dataset}/{EVENTS_FILE}")


def check_kept_log(action: str, local_dir: Path, dataset: str, agent: Transport) -> None:
    """Lines the target appended since the last sync are kept only when they are well-formed events."""
    from usr_harness.dataset.events import validate_event_log

    if action == "pull":
        log = (local_dir / EVENTS_FILE).read_bytes()
    else:
        blocks: list[bytes] = []
        agent.get_files(dataset, [EVENTS_FILE], lambda path, size, data: blocks.extend(data))
        log = b"".join(blocks)
    side = "local" if action == "pull" else "remote"
    validate_event_log(log, source=f"{side} {dataset}/{EVENTS_FILE}")
