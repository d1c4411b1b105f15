"""Odd file names and dataset ids: carried byte for byte, or refused in one quoted line, never lost.

A POSIX file name is bytes: control characters, bytes that are not UTF-8 and Unicode
normalization twins (the NFC and NFD spellings of one word) are all distinct, legal names
on Linux, and a sync carries each one exactly, twins as two files. A name holding a line
break (LF, CR) is refused, because it would split every line-oriented listing; the
refusal quotes the name with escapes, so the error stays one line. A dataset id the
filesystem cannot hold (past the file-name limit) or that the command line would read as
an option is a usage error in the same one-line form. Every case runs on both sides.
"""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

import pytest

from usr_harness.corrupt.remote_tree import RemoteTree

from .conftest import REMOTE, Sync

pytestmark = [pytest.mark.drill, pytest.mark.ssh, pytest.mark.enforces("H-odd-names")]

CAFE = "café.txt"
CARRIED = {
    "control-characters": ["bell\x07tab\tesc\x1b[31m.txt"],
    "invalid-utf8": ["caf" + b"\xe9".decode("utf-8", "surrogateescape") + ".txt"],
    "nfc-nfd-twins": [unicodedata.normalize("NFC", CAFE), unicodedata.normalize("NFD", CAFE)],
}
REFUSED = {
    "newline": "bad\nname.txt",
    "carriage-return": "bad\rname.txt",
}
IDS = {
    "past-name-max": "a" * 300,
    "namespaced-past-name-max": "ns/" + "b" * 256,
    "leading-dash": "-demo",
    "newline": "de\nmo",
    "escape-sequence": "de\x1b[2Jmo",
}


def _write(sync: Sync, side: str, rel: str, data: bytes) -> None:
    """The odd file appears on one side as its own writer would put it there."""
    if side == "local":
        path = sync.local / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return
    with sync.remote.session() as session:
        RemoteTree(session, str(sync.hpc)).write_bytes(rel, data)


def _names(folder: Path) -> set[bytes]:
    return set(os.listdir(os.fsencode(folder)))


def _synced(sync: Sync, side: str):
    """The command that carries `side`'s change across: a pull for the remote's, a push for ours."""
    return sync.pull() if side == "remote" else sync.push()


@pytest.mark.slow
@pytest.mark.parametrize("side", ["remote", "local"])
@pytest.mark.parametrize("case", sorted(CARRIED))
def test_odd_but_legal_names_are_carried_byte_for_byte(sync: Sync, side: str, case: str):
    sync.hpc_rounds(0, 1)
    assert sync.pull().ok
    names = CARRIED[case]
    for index, rel in enumerate(names):
        _write(sync, side, rel, f"{case} {index}\n".encode())
    result = _synced(sync, side)
    assert result.ok, result.message
    target = sync.local if side == "remote" else sync.hpc
    arrived = _names(target)
    assert {os.fsencode(rel) for rel in names} <= arrived
    for index, rel in enumerate(names):
        assert (target / rel).read_bytes() == f"{case} {index}\n".encode()
    sync.assert_same_trees()


@pytest.mark.parametrize("side", ["remote", "local"])
@pytest.mark.parametrize("case", sorted(REFUSED))
def test_line_breaking_names_are_refused_in_one_quoted_line(sync: Sync, side: str, case: str):
    sync.hpc_rounds(0, 1)
    assert sync.pull().ok
    rel = REFUSED[case]
    _write(sync, side, rel, b"odd\n")
    before = sync.root_prints()
    refused = _synced(sync, side)
    after = sync.root_prints()
    assert sync.refused(refused, "sidecars"), refused.message
    assert sync.one_line_error(refused, "sidecars"), refused.stderr
    assert sync.says(refused, repr(rel)), refused.message
    for name in ("local", "remote"):
        assert after[name].digest == before[name].digest, f"the {name} tree changed"


@pytest.mark.parametrize("action", ["diff", "pull", "push"])
@pytest.mark.parametrize("case", sorted(IDS))
def test_unusable_dataset_ids_are_usage_errors_in_one_line(sync: Sync, action: str, case: str):
    sync.hpc_rounds(0, 1)
    before = sync.root_prints()
    command = {"diff": sync.engine.diff, "pull": sync.engine.pull, "push": sync.engine.push}[action]
    refused = sync.call(f"{action}-{case}", lambda: command(IDS[case], REMOTE))
    after = sync.root_prints()
    assert sync.refused(refused, "usage"), refused.message
    assert sync.one_line_error(refused, "usage"), refused.stderr
    for name in ("local", "remote"):
        assert after[name].digest == before[name].digest, f"the {name} tree changed"
