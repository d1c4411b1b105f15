"""Fixtures that mount power-cut layers: skip with the reason without FUSE, always unmounted."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from usr_harness.powercut import FuseUnavailable, PowerCutMount

MountLayer = Callable[..., PowerCutMount]


@pytest.fixture
def mount_layer(tmp_path: Path) -> Iterator[MountLayer]:
    """mount_layer(backing, cut_after=, identities=): a started layer on a fresh mount point."""
    started: list[PowerCutMount] = []

    def mount(
        backing: Path, *, cut_after: int | None = None, identities: Path | None = None
    ) -> PowerCutMount:
        index = len(started)
        mountpoint, log = tmp_path / f"mnt{index}", tmp_path / f"log{index}"
        layer = PowerCutMount(backing, mountpoint, log, cut_after=cut_after, identities=identities)
        try:
            layer.start()
        except FuseUnavailable as error:
            pytest.skip(str(error))
        started.append(layer)
        return layer

    yield mount
    for layer in started:
        layer.stop()
