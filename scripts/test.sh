#!/usr/bin/env bash
# The test suite: the package's own tests and the drill suite, on two workers.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m pytest -n 2 -q tests drills "$@"
