"""The agent's dataset transfer ops: send files, stage a push, check and promote it, or drop the stage.

Stdlib only: bundled into the agent (`near/bundle.py`). A mixin of `agent.Agent`, like `file_agent.FileOps`:
it reads the channel, the held locks, open stages and hash cache the agent keeps.
"""

from __future__ import annotations

import os
import shutil

from usr_harness.dataset.journal import apply_journal, journal_pending
from usr_harness.dataset.layout import EVENTS_FILE, check_relpath
from usr_harness.dataset.quoting import quote
from usr_harness.sync.commit.promotion import StagedFile, new_stage, promote
from usr_harness.sync.inventory.hash_cache import CHUNK
from usr_harness.sync.inventory.scan import sha256_file
from usr_harness.sync.move.chunks import chunk_spans, decode_digests, delta
from usr_harness.sync.move.space import (
    bytes_needed,
    preflight_message,
    shortfall,
    staging_message,
)
from usr_harness.sync.remote.far.protocol import AgentFailure, fault_step, fire_step


class StagingOps:
    def op_get(self, request: dict) -> None:
        folder = self.dataset_dir(request["dataset"])
        footer_first = set(request.get("footer_first") or [])
        basis = request.get("basis") or {}
        for rel in request["paths"]:
            check_relpath(rel)
            path = os.path.join(folder, rel)
            if os.path.islink(path) or not os.path.isfile(path):
                message = f"remote {quote(rel)} is not a regular file"
                self.send({"ok": False, "family": "verify", "message": message})
                continue
            with open(path, "rb", buffering=0) as handle:
                size = os.fstat(handle.fileno()).st_size
                footer = _parquet_footer(handle, size) if rel in footer_first else b""
                header = {"ok": True, "path": rel, "size": size}
                if footer:
                    header["footer"] = len(footer)
                sends = [(0, size)]
                if rel in basis:
                    handle.seek(0)
                    spans = list(chunk_spans(handle.read))
                    header["size"] = sum(length for _, length, _ in spans)
                    header["pieces"], sends = delta(spans, decode_digests(basis[rel]))
                self.send(header)
                self.writer.write(footer)
                for offset, length in sends:
                    self._send_range(handle, offset, length)
        self.send({"ok": True, "done": True})
        return None

    def _send_range(self, handle, offset: int, length: int) -> None:
        """A file that shrank since its size was taken is padded: the stream stays in step and the
        laptop's hash check refuses the file."""
        handle.seek(offset)
        remaining = length
        while remaining:
            block = handle.read(min(CHUNK, remaining))
            if not block:
                block = b"\0" * remaining
            self.writer.write(block)
            remaining -= len(block)

    def op_stage(self, request: dict) -> dict:
        """Open the push's stage once the files it announces (`sizes`) fit beside the dataset."""
        folder = self.dataset_dir(request["dataset"])
        if folder not in self.locks:
            raise AgentFailure("lock", "stage requested without holding the remote dataset lock")
        parent = os.path.dirname(folder)
        sizes = request.get("sizes") or []
        short = shortfall(parent, sizes)
        if short:
            where = "remote " + request["dataset"]
            raise AgentFailure("staging", preflight_message(where, parent, len(sizes), *short), [parent])
        stage = new_stage(folder)
        self.stages[folder] = stage
        self.needed[folder] = bytes_needed(parent, sizes)
        fire_step(fault_step(request.get("fault"), "after-preflight", stage))
        return {"ok": True, "stage": os.path.basename(stage)}

    def op_put(self, request: dict) -> dict:
        """Stage one file; a failed write still reads the file's bytes, so the next request is intact."""
        folder = self.dataset_dir(request["dataset"])
        stage = self.stages.get(folder)
        rel = request["path"]
        check_relpath(rel)
        blocks = self.read_exact(int(request["size"]))
        if stage is None:
            for _ in blocks:
                pass
            raise AgentFailure("staging", "no stage open for {}".format(request["dataset"]))
        try:
            staged = StagedFile(stage, rel, self.hashes)
        except OSError as error:
            for _ in blocks:
                pass
            raise self._write_failure(request["dataset"], folder, stage, rel, error) from None
        try:
            for block in blocks:
                staged.write(block)
        except OSError as error:
            staged.discard()
            for _ in blocks:
                pass
            raise self._write_failure(request["dataset"], folder, stage, rel, error) from None
        except BaseException:
            staged.discard()
            raise
        try:
            digest = staged.close()
        except OSError as error:
            raise self._write_failure(request["dataset"], folder, stage, rel, error) from None
        return {"ok": True, "path": rel, "size": staged.size, "sha256": digest}

    def _write_failure(self, dataset: str, folder: str, stage: str, rel: str, error: OSError) -> AgentFailure:
        message = staging_message("remote " + dataset, rel, stage, self.needed.get(folder), error)
        return AgentFailure("staging", message, [rel])

    def op_promote(self, request: dict) -> dict:
        folder = self.dataset_dir(request["dataset"])
        stage = self.stages.get(folder)
        if stage is None or folder not in self.locks:
            raise AgentFailure("staging", "promotion needs the lock and an open stage")
        self._check_targets(folder, request.get("expect", {}))
        self._check_staged(stage, request["install"])
        self._check_events(folder, stage, request.get("events"))
        install = [item["path"] for item in request["install"]]
        fault = fault_step(request.get("fault"))
        promote(folder, stage, install, request.get("delete", []), fault, self.hashes)
        self.stages.pop(folder, None)
        return {"ok": True}

    def _check_targets(self, folder: str, expect: dict) -> None:
        """Refuse when a file the plan overwrites or deletes changed since the plan was made."""
        moved = []
        for rel, sha in expect.items():
            check_relpath(rel)
            path = os.path.join(folder, rel)
            present = os.path.lexists(path)
            if sha is None:
                if present:
                    moved.append(rel)
            elif not present or os.path.islink(path) or self.hashes.sha256(path) != sha:
                moved.append(rel)
        if moved:
            raise AgentFailure("diverged", "remote files changed while the push was planned", moved)

    def _check_staged(self, stage: str, install: list) -> None:
        bad = []
        for item in install:
            path = os.path.join(stage, item["path"])
            if not os.path.isfile(path) or os.path.islink(path) or self.hashes.sha256(path) != item["sha256"]:
                bad.append(item["path"])
        if bad:
            raise AgentFailure("verify", "staged files do not match the local manifest", bad)

    def _check_events(self, folder: str, stage: str, rule: dict | None) -> None:
        if not rule:
            return
        current = os.path.join(folder, EVENTS_FILE)
        staged = os.path.join(stage, EVENTS_FILE)
        if not os.path.exists(current) or not os.path.exists(staged):
            return
        size = os.path.getsize(current)
        if os.path.getsize(staged) < size or sha256_file(staged, size) != sha256_file(current):
            raise AgentFailure(
                "events", "remote .events.log is not a prefix of the pushed .events.log", [EVENTS_FILE]
            )

    def op_abort(self, request: dict) -> dict:
        self.discard_stage(self.dataset_dir(request["dataset"]))
        return {"ok": True}

    def discard_stage(self, folder: str) -> None:
        """Drop this channel's uncommitted stage; a committed promotion is rolled forward, never half undone.

        Only under the lock this channel holds: without it, a pending journal is another
        command's promotion in flight, and this channel never staged anything it names.
        """
        stage = self.stages.pop(folder, None)
        if folder in self.locks and journal_pending(folder):
            apply_journal(folder)
        elif stage:
            shutil.rmtree(stage, ignore_errors=True)


def _parquet_footer(handle, size: int) -> bytes:
    """The tail from the footer on (footer, its length, `PAR1`); b"" when it does not look like parquet."""
    if size < 12:
        return b""
    handle.seek(size - 8)
    trailer = handle.read(8)
    length = int.from_bytes(trailer[:4], "little")
    if trailer[4:] != b"PAR1" or length + 12 > size:
        return b""
    handle.seek(size - 8 - length)
    return handle.read(length + 8)
