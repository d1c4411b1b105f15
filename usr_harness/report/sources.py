"""What a drill enforces: a clause of upstream's runbooks, or a hardening rule of this project.

Every drill names its sources with `@pytest.mark.enforces(...)`. A runbook clause is the
runbook's path inside the upstream `usr` package and the section's anchor
(`docs/operations/sync/fidelity-drills.md#drill-3-overlay-schema-attack-surface`); a
hardening rule is an id defined here, once, and documented in docs/contract.md. A failed
drill that cites a runbook clause breaks the contract upstream published (a runbook
violation); one that cites hardening rules only is a hardening gap. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

RUNBOOK = "runbook"
HARDENING_KIND = "hardening"
RUNBOOK_PATTERN = re.compile(r"^docs/operations/[A-Za-z0-9_/-]+\.md#[a-z0-9_-]+$")

#: Rules this project holds an engine to that upstream's runbooks do not state; ids are stable.
HARDENING: dict[str, str] = {
    "H-quote-dataset-id": "a dataset id holding a shell metacharacter, space, line break, `..` or an "
    "absolute path is refused as usage before any remote call, even when the engine would quote it safely",
    "H-host-key-trust": "an unknown or changed host key is refused as auth and never learned",
    "H-no-link-follow": "a symlink, fifo, device or unsafe path in a dataset is refused, never followed",
    "H-redact-secrets": "secrets in event arguments are redacted in every copied log, audit and output",
    "H-nothing-lost": "pull and push never overwrite or delete a file changed on the target since the "
    "last sync; that is `diverged`, naming the paths; a one-sided addition is kept",
    "H-events-only-grow": "the event log only grows: a log rewritten, shortened or missing on one side "
    "is a divergence, judged before any byte is sent",
    "H-failure-changes-nothing": "a failed command leaves every byte the engine owns on both sides as it "
    "was (stages, journals, locks and `.usr-sync/` included), right after the failure and after the rerun",
    "H-crash-safe": "a kill -9 or power cut at any moment loses nothing; the next writer completes or "
    "undoes the torn promotion under the lock",
    "H-disk-full": "a full disk on the receiving side is `staging`, refused with nothing changed",
    "H-lock-wait": "a busy dataset makes a sync wait for the holder or fail closed as `lock` naming it; "
    "two writers never interleave",
    "H-odd-names": "odd but legal names are carried byte for byte; a name with a line break is refused",
    "H-hostile-input": "hostile import, namespace and validate input is refused with a named family "
    "and writes nothing",
    "H-validate-strict": "`validate --strict` decodes every byte the dataset holds, snapshots included",
    "H-family-words": "a refusal is one `usr: error[<family>]: ...` line with the family's exit code",
}


def kind_of(source: str) -> str:
    """`runbook` or `hardening`; a malformed clause or an unknown rule id is a ValueError."""
    if source in HARDENING:
        return HARDENING_KIND
    if RUNBOOK_PATTERN.match(source):
        return RUNBOOK
    raise ValueError(
        f"unknown drill source {source!r}: a runbook clause docs/operations/...md#section "
        f"or a hardening rule ({', '.join(HARDENING)})"
    )


def failure_kind(sources: Iterable[str]) -> str:
    """A failure breaks the published runbooks when any source is a runbook clause."""
    return RUNBOOK if any(kind_of(source) == RUNBOOK for source in sources) else HARDENING_KIND
