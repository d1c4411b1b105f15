"""A dataset id neither side holds is a misspelt id, not an empty diff: refuse it, naming what is there.

Like `rclone lsd`, the refusal lists the dataset ids the remote does hold (a short list, with
the closest names first), so the next command can be typed from the message.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from usr_harness.dataset.quoting import quote
from usr_harness.errors import DatasetError
from usr_harness.sync.inventory.manifest import Manifest
from usr_harness.sync.transport import Transport

SHOWN = 10
"""Remote dataset ids named in the message; the rest are counted."""


def check_present(
    local: Manifest, remote: Manifest, agent: Transport, *, dataset: str, remote_name: str, root: Path
) -> None:
    """Raise `dataset` (exit 16) when neither side has the dataset; one side is enough to go on."""
    if local.exists or remote.exists:
        return
    reply = agent.request({"op": "datasets"})
    raise DatasetError(
        absent_message(dataset, remote_name, root, reply["datasets"], int(reply["total"])),
        dataset=dataset,
    )


def absent_message(dataset: str, remote: str, root: Path, ids: list[str], total: int) -> str:
    """The refusal: neither side has `dataset`; the remote's ids, closest to it first, at most SHOWN."""
    head = (
        f"{dataset}: no dataset {quote(dataset)} on either side (local root {quote(root)}, remote {remote})"
    )
    if not total:
        return f"{head}; remote {remote} holds no datasets"
    close = difflib.get_close_matches(dataset, ids, n=3, cutoff=0.6)
    ordered = [*close, *(name for name in ids if name not in close)][:SHOWN]
    more = f" (and {total - len(ordered)} more)" if total > len(ordered) else ""
    hint = f"; did you mean {quote(close[0])}?" if close else ""
    plural = "dataset" if total == 1 else "datasets"
    return f"{head}; remote {remote} has {total} {plural}: {', '.join(ordered)}{more}{hint}"
