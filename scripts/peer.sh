#!/usr/bin/env bash
# The peer lane: the drills against the upstream `usr` engine, held to the golden verdicts of the
# upstream build they were judged on; exits 1 naming every drill whose verdict moved.
# Usage: scripts/peer.sh PATH/TO/upstream/bin/usr [--all] [more pytest arguments]
#   --all runs the whole drill suite (about an hour on 2 cores) instead of the CI selection.
set -euo pipefail
cd "$(dirname "$0")/.."
engine=${1:?usage: scripts/peer.sh PATH/TO/upstream/bin/usr [--all] [pytest args]}
shift
golden=fixtures/peer/upstream-9acd6684b.json
# The CI selection: every drill upstream judged in under 10 s in the whole-suite campaign
# (fixtures/peer/upstream-durations.json, `usr-harness report quick`), and, chosen by value whatever
# they cost, every runbook drill, security, event history, locks, the adversarial cases through
# upstream's own import / namespace / validate / pull, and the corruption matrix's same-size overlay
# flip on either side.
by_value=(
  drills/test_runbook_drills.py drills/test_security.py drills/test_event_history.py drills/test_locks.py
  drills/test_adversarial_schemas.py drills/test_corruption_matrix.py
  -k "not test_corruption_is_detected_as_declared or derived.byte-flip"
)
all_drills=0
if [ "${1:-}" = "--all" ]; then
  all_drills=1
  shift
fi
bash scripts/setup.sh
if [ "$all_drills" = 1 ]; then
  selection=(drills)
else
  mapfile -t selection < <(
    {
      .venv/bin/usr-harness report quick fixtures/peer/upstream-durations.json --under 10
      .venv/bin/python -m pytest --collect-only -q -p no:cacheprovider "${by_value[@]}" | grep '::'
    } | sort -u
  )
fi
run=${USR_PEER_RUN:-reports/peer-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$run"
# pytest's own exit is not the verdict here: upstream fails drills for real defects. The golden decides.
.venv/bin/python -m pytest -n 2 -q -p no:cacheprovider "${selection[@]}" \
  --drill-engine-profile upstream --drill-engine-cmd "$engine" --drill-report-dir "$run" --junitxml "$run/junit.xml" "$@" \
  || true
.venv/bin/usr-harness report show "$run" --all
exec .venv/bin/usr-harness report check "$run" --golden "$golden"
