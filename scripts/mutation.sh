#!/usr/bin/env bash
# On demand (never in CI): mutation testing of the pure planning modules with mutmut, against their fast
# pure tests. Which modules and tests: [tool.mutmut] in pyproject.toml. Results and judgements: docs/mutation.md.
# Usage: scripts/mutation.sh [MUTANT_GLOB...]   e.g. 'usr_harness.sync.plan.model*' for one module.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[mutation]'
# mutmut keeps its mutated copy and its results in mutants/; start clean so a stale result never counts.
rm -rf mutants
nice -n 19 .venv/bin/mutmut run --max-children 1 "$@" >/dev/null 2>&1 || true
.venv/bin/mutmut export-cicd-stats >/dev/null
.venv/bin/python - <<'PY'
import collections
import json
import subprocess

stats = json.load(open("mutants/mutmut-cicd-stats.json"))
lines = subprocess.run(
    [".venv/bin/mutmut", "results", "--all", "true"], capture_output=True, text=True, check=True
).stdout.splitlines()
per_module: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
for line in lines:
    name, _, status = line.strip().rpartition(": ")
    if "__mutmut_" in name:
        module = name.split(".x")[0]
        per_module[module][status] += 1
print(f"{'module':45} {'killed':>7} {'survived':>9} {'no tests':>9} {'score':>6}")
for module, counts in sorted(per_module.items()):
    total = sum(counts.values())
    print(
        f"{module:45} {counts['killed']:7} {counts['survived']:9} {counts['no tests']:9}"
        f" {100 * counts['killed'] / total:5.1f}%"
    )
score = 100 * stats["killed"] / stats["total"]
print(f"total: {stats['killed']} of {stats['total']} mutants killed: score {score:.1f}%")
print("survivors: .venv/bin/mutmut results; one mutant's diff: .venv/bin/mutmut show NAME")
PY
