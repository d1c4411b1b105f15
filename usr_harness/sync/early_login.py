"""Start the SSH login before the engine's modules load, so the two overlap.

A dataset command's login, remote shell and agent start wait mostly on the other side;
loading the engine (a third of a command's start-up) needs no network. The front end calls
`start_login` with the request it built, then imports and runs the engine, which adopts the
login. Anything the engine would refuse before connecting (bad options or dataset id, an
unknown profile, a fault hook to load) returns None instead, and the engine then connects
itself after its own checks, exactly as without this.
"""

from __future__ import annotations

import os

from usr_harness.dataset.layout import check_dataset_id
from usr_harness.errors import UsrError
from usr_harness.sync.hooks import HOOKS_ENV
from usr_harness.sync.remote.near.pending import PendingAgent
from usr_harness.sync.remote.near.profiles import get_profile
from usr_harness.sync.request import SyncRequest


def start_login(action: str, request: SyncRequest) -> PendingAgent | None:
    """The login running in a thread, or None when the engine must check first (see above)."""
    if os.environ.get(HOOKS_ENV):
        return None
    try:
        request.opts.check(action)
        check_dataset_id(request.dataset)
        profile = get_profile(request.remote, request.remotes_config)
    except (UsrError, ValueError):
        return None
    return PendingAgent(profile)
