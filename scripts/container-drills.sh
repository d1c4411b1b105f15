#!/usr/bin/env bash
# The container lane: a drill selection against two remotes that are not this machine, a Debian
# bullseye host (Python 3.9) and a bookworm host (Python 3.11), each an sshd in a container whose
# image is built from Debian's packages (no image registry). Docker's engine is started when none
# runs (scripts/docker.sh) and stopped again if this lane started it. Where Docker cannot run, the
# drills skip and their report says why; the lane then still exits 0.
# Usage: scripts/container-drills.sh [more pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ "$(bash scripts/docker.sh start)" = started ]; then
  trap 'bash scripts/docker.sh stop' EXIT
else
  trap 'bash scripts/docker.sh clean' EXIT
fi
export TESTCONTAINERS_RYUK_DISABLED=true  # Ryuk is an image from a registry; containers are removed by label
# Fast drills that cross the SSH boundary in every way the engine does: the runbook, security, event
# history and locks (about 30 s per suite on 2 cores once the image is built).
selection=(drills/test_runbook_drills.py drills/test_security.py drills/test_event_history.py drills/test_locks.py)
run_root=${USR_CONTAINER_RUN:-reports/containers-$(date -u +%Y%m%dT%H%M%SZ)}
# Build (or find) both images first, timed, outside any test's timeout.
.venv/bin/python -m usr_harness.hosts.debian_image bullseye bookworm
.venv/bin/python -m pytest -q -p no:cacheprovider tests/hosts/test_container.py -rs
for suite in bullseye bookworm; do
  started=$(date +%s)
  .venv/bin/python -m pytest -n 2 -q -p no:cacheprovider -rs "${selection[@]}" \
    --drill-remote-provider container --drill-container-suite "$suite" --drill-report-dir "$run_root/$suite" "$@"
  echo "containers: $suite took $(($(date +%s) - started)) s (image build included when it was not cached)"
  .venv/bin/usr-harness report show "$run_root/$suite"
done
