"""The blake3 fingerprint of a remote dataset tree, taken through the remote agent (one connection).

Where the remote has blake3 the agent hashes there; elsewhere the files stream back
over the same channel and are hashed here, so evidence never depends on what the
remote python has installed.
"""

from __future__ import annotations

from collections.abc import Iterator

import blake3

from usr_harness.report.fingerprint import TreeEntry, TreeFingerprint
from usr_harness.sync.remote import RemoteProfile, connect_agent


def fingerprint_remote(profile: RemoteProfile, dataset: str) -> TreeFingerprint:
    """Fingerprint `<base_dir>/<dataset>` on the remote, comparable with `fingerprint_tree` locally."""
    with connect_agent(profile) as agent:
        listing = agent.request({"op": "tree", "dataset": dataset})["entries"]
        missing = [item["path"] for item in listing if item["type"] == "file" and "blake3" not in item]
        hashed: dict[str, str] = {}

        def sink(path: str, size: int, blocks: Iterator[bytes]) -> None:
            hasher = blake3.blake3()
            for block in blocks:
                hasher.update(block)
            hashed[path] = hasher.hexdigest()

        if missing:
            agent.get_files(dataset, missing, sink)
    return TreeFingerprint.of(
        TreeEntry(
            path=item["path"],
            type=item["type"],
            size=item["size"],
            blake3=item.get("blake3") or hashed.get(item["path"]),
            link_target=item.get("link_target"),
        )
        for item in listing
    )
