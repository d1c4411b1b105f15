"""Sizes of generated drill data, by name: one table the CLI and the pytest plugin both read.

Kept apart from the plugin so `usr-harness cycle --scale` can check its choice before any
work starts without importing pytest.
"""

from __future__ import annotations

#: `hang_seconds`: how long one engine command may run before a drill calls it hung (killed, a fail
#: naming the command). Far above a slow engine's real time at that size (the upstream engine's
#: slowest small-scale command takes about 15 s on 2 busy cores), and under pytest's per-drill timeout.
SCALES: dict[str, dict[str, int]] = {
    "small": {"rows": 40, "parts": 2, "rounds": 3, "hang_seconds": 120},
    "medium": {"rows": 2_000, "parts": 8, "rounds": 5, "hang_seconds": 900},
    "large": {"rows": 50_000, "parts": 32, "rounds": 8, "hang_seconds": 3600},
}
