"""Corruption catalogue: break one file of a dataset precisely, on either side, and say what must notice.

`CATALOGUE` lists every entry (`derived.byte-flip` ...), each with its expected
detection per side, command and verify profile; `apply` runs one entry against a
`LocalTree` or a `RemoteTree` (which acts only through the SSH session).
"""

from usr_harness.corrupt.catalogue import CATALOGUE, AppliedCorruption, Corruption, apply, get
from usr_harness.corrupt.expectations import COMMANDS, PROFILES, SIDES, Expected
from usr_harness.corrupt.remote_tree import RemoteTree
from usr_harness.corrupt.tree import LocalTree, Tree

__all__ = [
    "CATALOGUE",
    "COMMANDS",
    "PROFILES",
    "SIDES",
    "AppliedCorruption",
    "Corruption",
    "Expected",
    "LocalTree",
    "RemoteTree",
    "Tree",
    "apply",
    "get",
]
