"""A power-cut file system for drills: a FUSE passthrough that logs every durability-relevant call, and a
model that says what a power cut after any of them leaves on disk (docs/powercut.md)."""

from usr_harness.powercut.errors import FuseUnavailable, PowerCutError
from usr_harness.powercut.model import DurabilityModel, Policy, cut_states, durable_tree
from usr_harness.powercut.mount import PowerCutMount, fuse_unavailable_reason
from usr_harness.powercut.ops import Op, OpKind, read_log
from usr_harness.powercut.tree import DIRECTORY, Symlink, Tree, restore, scan

__all__ = [
    "DIRECTORY",
    "DurabilityModel",
    "FuseUnavailable",
    "Op",
    "OpKind",
    "Policy",
    "PowerCutError",
    "PowerCutMount",
    "Symlink",
    "Tree",
    "cut_states",
    "durable_tree",
    "fuse_unavailable_reason",
    "read_log",
    "restore",
    "scan",
]
