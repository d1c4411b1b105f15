#!/usr/bin/env bash
# The main job: a full preflight -> run -> verify drill cycle against a throwaway loopback sshd.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/usr-harness cycle --workers 2 "$@"
