"""The USR dataset layout (SPEC §2): schema and ids, registry, overlays, events, snapshots, validate."""

from usr_harness.dataset.dataset import Dataset, list_datasets

__all__ = ["Dataset", "list_datasets"]
