"""The USR dataset layout (SPEC §2): schema and ids, registry, overlays, events, snapshots, validate.

`Dataset` and `list_datasets` load on first use: the stdlib-only submodules (layout, flock) are
imported by every `usr` command, and pulling pyarrow in with them would cost each one a third of a second.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from usr_harness.dataset.dataset import Dataset, list_datasets

__all__ = ["Dataset", "list_datasets"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from usr_harness.dataset import dataset

        return getattr(dataset, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
