"""A fake `usr` that lies: exit 0, a plausible summary and audit, and not one byte moved.

Run as a script (`python tests/lying_engine.py ARGS`) through `--engine-cmd`; the cycle and the
drills must fail it on their evidence (audits and tree fingerprints), never pass it on its exit code.
"""

import json
import sys

SECTIONS = ["primary", "meta", ".events.log", "_snapshots", "_derived", "_auxiliary"]
STATES = {"diff": "DIFF-ONLY", "pull": "TRANSFERRED", "push": "TRANSFERRED"}

args = sys.argv[1:]
if "--help" in args:
    print("Usage: usr [OPTIONS] COMMAND [ARGS]...")
    sys.exit(0)
verb = next(arg for arg in args if arg in ("diff", "pull", "push", "remotes", "validate"))
state = STATES.get(verb)
if "--audit-json-out" in args and state:
    data = {"action": verb, "transfer_state": state, **{s: {"changed": False} for s in SECTIONS}}
    with open(args[args.index("--audit-json-out") + 1], "w", encoding="utf-8") as handle:
        handle.write(json.dumps({"usr_output_version": 1, "data": data}))
print(f"{verb}: {state or 'ok'}; 12 files, 3.1 MB in 0.4 s (7.8 MB/s)")
