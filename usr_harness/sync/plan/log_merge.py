"""Merge two event logs that both grew from the log of the last sync (pure).

The only safe merge of a branched history: both logs must start with the whole log
both sides agreed on at the last sync; the result is that shared log, then the lines
the remote appended since, then the lines this side appended since. Every line is
kept, byte for byte; only the order of this side's new lines relative to the
remote's changes, which is why the merge rewrites this side's log and never the remote's.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from usr_harness.dataset.events import validate_event_log
from usr_harness.errors import EventsError


@dataclass(frozen=True)
class MergedLog:
    data: bytes
    shared_lines: int
    remote_lines: int
    local_lines: int


def merge_logs(base: dict | None, local: bytes, remote: bytes, *, dataset: str) -> MergedLog | None:
    """The merged local log, or None when one log already extends the other (nothing to merge).

    `base` is the log entry of the last sync ({"sha256", "size"}); without it no line can be
    told new, so the merge refuses rather than guess.
    """
    validate_event_log(local, source=f"local {dataset}/.events.log")
    validate_event_log(remote, source=f"remote {dataset}/.events.log")
    if local.startswith(remote) or remote.startswith(local):
        return None
    if base is None:
        raise EventsError(
            f"{dataset}: no last sync recorded the event log both sides shared; "
            "cannot tell new lines from old - refusing to merge",
            paths=[".events.log"],
        )
    size = base["size"]
    for side, log in (("local", local), ("remote", remote)):
        if len(log) < size or hashlib.sha256(log[:size]).hexdigest() != base["sha256"]:
            raise EventsError(
                f"{dataset}: {side} .events.log does not start with the log of the last sync "
                "(history rewritten, not appended) - refusing to merge",
                paths=[".events.log"],
            )
    shared, theirs, mine = local[:size], remote[size:], local[size:]
    return MergedLog(shared + theirs + mine, shared.count(b"\n"), theirs.count(b"\n"), mine.count(b"\n"))
