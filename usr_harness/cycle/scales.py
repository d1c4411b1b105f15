"""Sizes of generated drill data, by name: one table the CLI and the pytest plugin both read.

Kept apart from the plugin so `usr-harness cycle --scale` can check its choice before any
work starts without importing pytest.
"""

from __future__ import annotations

SCALES: dict[str, dict[str, int]] = {
    "small": {"rows": 40, "parts": 2, "rounds": 3},
    "medium": {"rows": 2_000, "parts": 8, "rounds": 5},
    "large": {"rows": 50_000, "parts": 32, "rounds": 8},
}
