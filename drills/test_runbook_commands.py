"""Every command line of the upstream USR sync runbooks, as written, against the loopback host.

The runbooks live in the upstream engine's `docs/operations/sync/` folder, which a clone of
this project does not have: the command lines are copied here as data, each with the runbook
and section it comes from. A walk substitutes the loopback names (remote `bu-scc` -> the
drill's remote, `my_dataset` / `$DATASET_ID` -> the drill's dataset, `$LOCAL_USR_ROOT` -> the
local datasets root ...), runs each line through the engine adapter and checks its exit code
and words. Steps no `usr` command can take are stand-ins, named as such: the HPC batch job
(`qsub ... densegen-cpu.qsub`) is a seeded mock round on the remote, and Infer's write-back
(`infer run ... --write-back`) is `usr attach` of a seeded Infer part. `routes/workflow-map.md`
repeats the quickstart lines and is not copied again. What differs from the runbooks, and why,
is in the README's "Differences from the upstream runbooks".
"""

from __future__ import annotations

import json
import shlex
import shutil
import string
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from usr_harness.engines import RemoteWiring, wire_remote
from usr_harness.mock.overlays import overlay_batch
from usr_harness.report.fingerprint import fingerprint_tree

from .conftest import DATASET, REMOTE, Sync

pytestmark = [pytest.mark.drill, pytest.mark.ssh]


@dataclass(frozen=True)
class Line:
    """One runbook command line; `code` is its expected exit, `says` words its output must carry."""

    source: str
    text: str
    code: int = 0
    says: tuple[str, ...] = ()
    multiplexed: tuple[int, tuple[str, ...]] | None = None
    """The exit and words instead, for an engine that runs the system ssh: the harness gives it the
    connection sharing setup.md configures, so its control master is live."""


@dataclass(frozen=True)
class HpcBatch:
    """Stand-in for the HPC batch job the runbook submits with qsub: one more mock round there."""

    source: str


@dataclass(frozen=True)
class InferWriteBack:
    """Stand-in for `infer run ... --write-back`: `usr attach` of a seeded Infer part on the laptop."""

    source: str


@dataclass(frozen=True)
class Jq:
    """A jq recipe of the audit loop, run by jq itself on the audit the walk wrote."""

    source: str
    text: str
    says: tuple[str, ...] = ()


@dataclass(frozen=True)
class RepoMapping:
    """The remotes YAML of modes.md "File mode": the profile gains repo_root and local_repo_root."""

    source: str


Step = Line | HpcBatch | InferWriteBack | Jq | RepoMapping

DIFF = "uv run usr diff my_dataset bu-scc"
PULL = "uv run usr pull my_dataset bu-scc -y"
PUSH = "uv run usr push my_dataset bu-scc -y"
DOCTOR = "uv run usr remotes doctor --remote bu-scc"
STATUS = "uv run usr remotes status --remote bu-scc"
WARM_AUTH = "uv run usr remotes warm-auth --remote bu-scc"
ROOT_DIFF = 'uv run usr --root "$LOCAL_USR_ROOT" diff "$DATASET_ID" bu-scc'
ROOT_PULL = 'uv run usr --root "$LOCAL_USR_ROOT" pull "$DATASET_ID" bu-scc -y'
ROOT_PUSH = 'uv run usr --root "$LOCAL_USR_ROOT" push "$DATASET_ID" bu-scc -y'
ID_DIFF = 'uv run usr diff "$DATASET_ID" bu-scc'
ID_PULL = 'uv run usr pull "$DATASET_ID" bu-scc -y'
ID_PUSH = 'uv run usr push "$DATASET_ID" bu-scc -y'
PARQUET_DIFF = 'uv run usr --root "$LOCAL_USR_ROOT" diff "$DATASET_ID" bu-scc --verify parquet'
STRICT_PULL = (
    'uv run usr --root "$LOCAL_USR_ROOT" pull "$DATASET_ID" bu-scc -y --verify parquet --verify-sidecars'
)
STRICT_PUSH = (
    'uv run usr --root "$LOCAL_USR_ROOT" push "$DATASET_ID" bu-scc -y --verify parquet --verify-sidecars'
)
# Exit 1 and 2 below are the loopback's truth, not failures: the drill's profile uses paramiko, so no
# ControlMaster is live (status exits 1), and a drill has no terminal to log in on (warm-auth refuses).
# An engine that runs the system ssh gets setup.md's ControlMaster entry: its status says live (LIVE).
NOT_LIVE = ("master: not live",)
LIVE = (0, ("master: live",))
NO_TERMINAL = ("needs a terminal",)
DOCTOR_OK = ("fcntl locking",)

RUNBOOKS: dict[str, tuple[Step, ...]] = {
    "sync-readme": (
        HpcBatch("README.md / Quick command loop (the dataset exists on the HPC side)"),
        Line("README.md / Quick command loop", DIFF, says=("CHANGED",)),
        Line("README.md / Quick command loop", PULL, says=("TRANSFERRED",)),
        Line("README.md / Quick command loop", PUSH, says=("NO-OP",)),
    ),
    "quickstart": (
        HpcBatch("quickstart.md / Iterative batch loop (datasets are produced on HPC)"),
        Line(
            "quickstart.md / Optional strict bootstrap mode",
            "uv run usr pull usr_promoter_references bu-scc -y --strict-bootstrap-id",
            says=("TRANSFERRED",),
        ),
        Line("quickstart.md / Minimum command loop", DIFF),
        Line("quickstart.md / Minimum command loop", PULL, says=("NO-OP",)),
        Line("quickstart.md / Daily sync workflow", DIFF),
        Line("quickstart.md / Daily sync workflow", PULL),
        Line("quickstart.md / Daily sync workflow", PUSH),
        HpcBatch("quickstart.md / Iterative batch loop (the next HPC round)"),
        Line("quickstart.md / Iterative batch loop", DIFF, says=("CHANGED",)),
        Line("quickstart.md / Iterative batch loop", PULL, says=("TRANSFERRED",)),
        InferWriteBack("quickstart.md / Iterative batch loop (local overlays)"),
        Line("quickstart.md / Iterative batch loop", DIFF, says=("CHANGED",)),
        Line("quickstart.md / Iterative batch loop", PUSH, says=("TRANSFERRED",)),
    ),
    "audit-loop": (
        HpcBatch("audit-loop.md / Quick loop (the HPC side has the dataset)"),
        Line(
            "audit-loop.md / Quick loop 1)",
            'uv run usr diff "$DATASET_ID" "$REMOTE" --audit-json-out "$AUDIT_DIR/diff-before-transfer.json"',
        ),
        Line(
            "audit-loop.md / Quick loop 2)",
            'uv run usr pull "$DATASET_ID" "$REMOTE" -y --audit-json-out "$AUDIT_DIR/pull.json"',
        ),
        Jq(
            "audit-loop.md / Decision checks from JSON",
            "jq -r '.data | [.action, .transfer_state, .primary.changed, ._derived.changed, "
            '._auxiliary.changed] | @tsv\' "$AUDIT_DIR/pull.json"',
            says=("pull\tTRANSFERRED\ttrue\ttrue",),
        ),
        Jq(
            "audit-loop.md / Decision checks from JSON",
            "jq -r '[.usr_output_version, .data.verify.primary, .data.verify.sidecars, "
            '.data.verify.content_hashes] | @tsv\' "$AUDIT_DIR/pull.json"',
            says=("1\thash\tstrict\ton",),
        ),
        Jq(
            "audit-loop.md / Decision checks from JSON",
            "jq -r '.data | {derived_local_only: ._derived.local_only, derived_remote_only: "
            "._derived.remote_only, aux_local_only: ._auxiliary.local_only, aux_remote_only: "
            '._auxiliary.remote_only}\' "$AUDIT_DIR/pull.json"',
            says=('"derived_remote_only": [', '"aux_local_only": []'),
        ),
        InferWriteBack("audit-loop.md / Quick loop 3) (overlay attach)"),
        Line(
            "audit-loop.md / Quick loop 4)",
            'uv run usr push "$DATASET_ID" "$REMOTE" -y --audit-json-out "$AUDIT_DIR/push.json"',
        ),
        Jq(
            "audit-loop.md / Chained workflow usage 2.",
            "jq -r '.data.transfer_state' \"$AUDIT_DIR/push.json\"",
            says=("TRANSFERRED",),
        ),
        Line("audit-loop.md / Failure handling", "uv run usr remotes doctor --remote <name>", says=DOCTOR_OK),
    ),
    "hpc-agent-flow": (
        HpcBatch("hpc-agent-flow.md / Bootstrap: HPC has dataset, local does not"),
        Line("hpc-agent-flow.md / Preflight 1.", DOCTOR, says=DOCTOR_OK),
        Line("hpc-agent-flow.md / Preflight 1.", STATUS, code=1, says=NOT_LIVE, multiplexed=LIVE),
        Line("hpc-agent-flow.md / Preflight 2.", "uv run usr remotes show bu-scc", says=("base_dir:",)),
        Line("hpc-agent-flow.md / Preflight (MFA)", WARM_AUTH, code=2, says=NO_TERMINAL, multiplexed=LIVE),
        Line("hpc-agent-flow.md / Preflight 4.", ROOT_DIFF, says=("CHANGED",)),
        Line("hpc-agent-flow.md / Preflight 4. (short form)", ID_DIFF),
        Line("hpc-agent-flow.md / Bootstrap: HPC has dataset, local does not", ID_DIFF),
        Line(
            "hpc-agent-flow.md / Bootstrap: HPC has dataset, local does not", ID_PULL, says=("TRANSFERRED",)
        ),
        HpcBatch("hpc-agent-flow.md / Run loop 1. (a batch increment)"),
        Line("hpc-agent-flow.md / Run loop 2.", ROOT_PULL, says=("TRANSFERRED",)),
        Line("hpc-agent-flow.md / Run loop 2. (short form)", ID_PULL, says=("NO-OP",)),
        Line("hpc-agent-flow.md / Verify loop 1.", ROOT_DIFF),
        InferWriteBack("hpc-agent-flow.md / Local annotations back to HPC"),
        Line("hpc-agent-flow.md / Local annotations back to HPC", ROOT_DIFF, says=("CHANGED",)),
        Line("hpc-agent-flow.md / Local annotations back to HPC", ROOT_PUSH, says=("TRANSFERRED",)),
        Line("hpc-agent-flow.md / Local annotations back to HPC (short form)", ID_PUSH, says=("NO-OP",)),
    ),
    "chained-densegen-infer": (
        Line("chained-densegen-infer-runbook.md / One-time setup", "uv run usr remotes show bu-scc"),
        Line("chained-densegen-infer-runbook.md / 1) One-time preflight", DOCTOR, says=DOCTOR_OK),
        Line(
            "chained-densegen-infer-runbook.md / 1) One-time preflight",
            STATUS,
            code=1,
            says=NOT_LIVE,
            multiplexed=LIVE,
        ),
        Line(
            "chained-densegen-infer-runbook.md / 1) One-time preflight (MFA)",
            WARM_AUTH,
            code=2,
            multiplexed=LIVE,
        ),
        HpcBatch("chained-densegen-infer-runbook.md / 2) HPC side DenseGen batch increment"),
        Line("chained-densegen-infer-runbook.md / Quick path", ROOT_DIFF, says=("CHANGED",)),
        Line("chained-densegen-infer-runbook.md / Quick path", ROOT_PULL, says=("TRANSFERRED",)),
        Line("chained-densegen-infer-runbook.md / Quick path", ROOT_PUSH, says=("NO-OP",)),
        HpcBatch("chained-densegen-infer-runbook.md / 2) resumed quota extension run"),
        Line("chained-densegen-infer-runbook.md / 3) Local pull and analysis loop", ROOT_DIFF),
        Line("chained-densegen-infer-runbook.md / 3) Local pull and analysis loop", ROOT_PULL),
        Line(
            "chained-densegen-infer-runbook.md / 3) Local pull and analysis loop",
            ROOT_DIFF,
            says=("up-to-date",),
        ),
        Line(
            "chained-densegen-infer-runbook.md / 3) Optional local dataset view checks",
            'uv run usr --root "$LOCAL_USR_ROOT" head "$DATASET_ID" -n 5',
            says=("5 of ",),
        ),
        Line(
            "chained-densegen-infer-runbook.md / 3) Optional local dataset view checks",
            'uv run usr --root "$LOCAL_USR_ROOT" events tail "$DATASET_ID" -n 10',
            says=('"event_version":1',),
        ),
        InferWriteBack("chained-densegen-infer-runbook.md / 4) Local Infer write-back"),
        Line("chained-densegen-infer-runbook.md / 4) Local Infer write-back", ROOT_DIFF, says=("CHANGED",)),
        Line(
            "chained-densegen-infer-runbook.md / 4) Local Infer write-back", ROOT_PUSH, says=("TRANSFERRED",)
        ),
        Line("chained-densegen-infer-runbook.md / Failure drills", DOCTOR, says=DOCTOR_OK),
        Line("chained-densegen-infer-runbook.md / Failure drills", ROOT_PULL, says=("NO-OP",)),
    ),
    "fidelity-drills": (
        HpcBatch("fidelity-drills.md / Preconditions (the HPC batch dataset)"),
        Line("fidelity-drills.md / Preconditions", DOCTOR, says=DOCTOR_OK),
        Line("fidelity-drills.md / Drill 1", PARQUET_DIFF),
        Line("fidelity-drills.md / Drill 1", STRICT_PULL, says=("TRANSFERRED",)),
        InferWriteBack("fidelity-drills.md / Drill 2 (local write-back)"),
        Line("fidelity-drills.md / Drill 2", PARQUET_DIFF, says=("CHANGED",)),
        Line("fidelity-drills.md / Drill 2", STRICT_PUSH, says=("TRANSFERRED",)),
        Line(
            "fidelity-drills.md / Drill 3: Overlay schema attack surface",
            'uv run usr --root "$LOCAL_USR_ROOT" attach "$DATASET_ID" --path /tmp/bad_overlay.csv '
            "--namespace infer --key sequence --key-col sequence --columns bad_field",
            code=13,
            says=("error[schema]", "bad_field"),
        ),
        Line("fidelity-drills.md / Chained command loop 1.", DOCTOR),
        Line("fidelity-drills.md / Chained command loop 2.", PARQUET_DIFF),
        Line("fidelity-drills.md / Chained command loop 3.", STRICT_PULL, says=("NO-OP",)),
        InferWriteBack("fidelity-drills.md / Chained command loop 4."),
        Line("fidelity-drills.md / Chained command loop 5.", PARQUET_DIFF, says=("CHANGED",)),
        Line("fidelity-drills.md / Chained command loop 6.", STRICT_PUSH, says=("TRANSFERRED",)),
        Line("fidelity-drills.md / Chained command loop 7.", PARQUET_DIFF, says=("up-to-date",)),
    ),
    "setup": (
        Line(
            "setup.md / Configure a USR remote",
            'uv run usr --remotes-config "$HOME/.config/dnadesign/usr-remotes.yaml" remotes wizard '
            "--preset bu-scc --name bu-scc --user <user> --host scc1.bu.edu "
            "--base-dir /project/<user>/dnadesign/src/dnadesign/usr/datasets",
            says=("updated remote",),
        ),
        Line(
            "setup.md / Configure a USR remote",
            'uv run usr --remotes-config "$HOME/.config/dnadesign/usr-remotes.yaml" '
            "remotes doctor --remote bu-scc",
            says=DOCTOR_OK,
        ),
        Line("setup.md / Inspect remote config", "uv run usr remotes list", says=("127.0.0.1",)),
        Line("setup.md / Inspect remote config", "uv run usr remotes show bu-scc", says=("base_dir:",)),
        Line("setup.md / Inspect remote config", STATUS, code=1, says=NOT_LIVE, multiplexed=LIVE),
        Line("setup.md / Repo-native bootstrap path", WARM_AUTH, code=2, says=NO_TERMINAL, multiplexed=LIVE),
    ),
    "modes": (
        HpcBatch("modes.md / Dataset directory mode (the dataset on the HPC side)"),
        Line("quickstart.md / Minimum command loop (the folder must exist to be named)", PULL),
        HpcBatch("modes.md / Dataset directory mode (a newer HPC round)"),
        Line(
            "modes.md / Dataset directory mode",
            "uv run usr diff /path/to/dnadesign/src/dnadesign/usr/datasets/densegen_demo_hpc bu-scc",
            says=("CHANGED",),
        ),
        Line(
            "modes.md / Dataset directory mode",
            "uv run usr pull /path/to/dnadesign/src/dnadesign/usr/datasets/densegen_demo_hpc bu-scc -y",
            says=("TRANSFERRED",),
        ),
        Line(
            "modes.md / Dataset directory mode",
            "uv run usr push /path/to/dnadesign/src/dnadesign/usr/datasets/densegen_demo_hpc bu-scc -y",
            says=("NO-OP",),
        ),
        RepoMapping("modes.md / File mode (remote config example with repo mapping)"),
        Line(
            "modes.md / File mode", "uv run usr diff permuter/run42/records.parquet bu-scc", says=("CHANGED",)
        ),
        Line(
            "modes.md / File mode",
            "uv run usr pull permuter/run42/records.parquet bu-scc -y",
            says=("TRANSFERRED",),
        ),
        Line(
            "modes.md / File mode (local repo root not configured)",
            "uv run usr pull permuter/run42/records.parquet bu-scc --repo-root /path/to/local/dnadesign -y",
            says=("NO-OP",),
        ),
        Line(
            "modes.md / File mode (remote path cannot be inferred)",
            "uv run usr pull permuter/run42/records.parquet bu-scc --remote-path "
            "/path/to/remote/dnadesign/src/dnadesign/permuter/run42/records.parquet -y",
            says=("NO-OP",),
        ),
    ),
    "troubleshooting": (
        Line(
            "troubleshooting.md / Failure diagnosis sequence 1.",
            "uv run usr remotes doctor --remote <name>",
            says=DOCTOR_OK,
        ),
    ),
}


@dataclass
class Walk:
    """One runbook walked on fresh sides: the names it substitutes and the engine it drives."""

    sync: Sync
    wiring: RemoteWiring
    folder: Path
    hpc_round: int = 0
    stamped: set[str] = field(default_factory=set)
    """Dataset files the real `usr attach` wrote: named with the wall clock, left out of replay prints."""

    @property
    def local_repo(self) -> Path:
        return self.folder / "local-repo"

    @property
    def remote_repo(self) -> Path:
        return self.sync.remote_root / "repo"

    @property
    def bad_overlay(self) -> Path:
        """fidelity-drills.md Drill 3's input: a sequence key and a column no namespace owns."""
        return self.folder / "bad_overlay.csv"

    @property
    def remotes_copy(self) -> Path:
        return self.folder / "home" / ".config" / "dnadesign" / "usr-remotes.yaml"

    @property
    def via_alias(self) -> bool:
        """The engine runs the system ssh through the drill's Host alias (setup.md's ControlMaster entry)."""
        return self.sync.engine.profile.remote_style == "ssh-alias"

    def words(self) -> dict[str, str]:
        """Runbook word -> loopback value: a token equal to a key, or under a path key, is replaced."""
        spec = self.sync.remote.spec
        return {
            "bu-scc": REMOTE,
            "<name>": REMOTE,
            "my_dataset": DATASET,
            "usr_promoter_references": DATASET,
            "<user>": spec.user,
            # An engine that reads ~/.ssh/config reaches the loopback through its Host alias (the port).
            "scc1.bu.edu": spec.alias if self.via_alias else spec.host,
            "/project/<user>/dnadesign/src/dnadesign/usr/datasets": str(spec.base_dir),
            "/path/to/dnadesign/src/dnadesign/usr/datasets/densegen_demo_hpc": str(self.sync.local),
            "/path/to/local/dnadesign": str(self.local_repo),
            "/path/to/remote/dnadesign": str(self.remote_repo),
            "/tmp/bad_overlay.csv": str(self.bad_overlay),
        }

    def shell(self) -> dict[str, str]:
        """The shell variables the runbooks export, pointed at this walk's sides."""
        return {
            "LOCAL_USR_ROOT": str(self.sync.local_root),
            "DATASET_ID": DATASET,
            "REMOTE": REMOTE,
            "AUDIT_DIR": str(self.folder / ".usr-sync-audit"),
            "HOME": str(self.folder / "home"),
        }

    def argv(self, text: str) -> list[str]:
        """The line's words after `uv run usr`, with shell variables and runbook names substituted."""
        words = self.words()
        tokens = [string.Template(token).substitute(self.shell()) for token in shlex.split(text)]
        out: list[str] = []
        for token in tokens:
            if out and out[-1] == "--preset":
                out.append(token)  # a preset names a site's defaults, not the remote: never the loopback's
                continue
            prefix = next((key for key in words if key.startswith("/") and token.startswith(key + "/")), None)
            out.append(words[prefix] + token[len(prefix) :] if prefix else words.get(token, token))
        return out

    def run(self, step: Line) -> None:
        """Run the line, check its exit code and words; a refusal must leave both roots byte-identical."""
        argv = self.argv(step.text)
        assert argv[:3] == ["uv", "run", "usr"], step.text
        engine = self.sync.engine
        label = f"{len(self.sync.record.evidence)}: {step.source}"
        result = self.sync.call(label, lambda: engine.run(*argv[3:], env=self.wiring.env or None))
        where = f"{step.source}: {step.text}\n{result.stdout}{result.stderr}"
        code, says = step.code, step.says
        if step.multiplexed and self.via_alias:
            code, says = step.multiplexed
        if code == 0 or self.sync.has("family-exit-codes"):
            assert result.exit_code == code, where
        for token in says:
            assert self.sync.says(result, token), where
        if code:
            assert not self.sync.record.evidence[label]["effect"], f"a refused line changed a side: {where}"

    def jq(self, step: Jq) -> None:
        argv = self.argv(step.text)
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=self.folder)
        self.sync.record.add_evidence(f"{len(self.sync.record.evidence)}: {step.source}", done.stdout)
        assert done.returncode == 0, f"{step.text}\n{done.stderr}"
        for token in step.says:
            assert token in done.stdout, f"{step.text}\n{done.stdout}"

    def hpc_batch(self) -> None:
        self.sync.hpc_rounds(self.hpc_round)
        self.hpc_round += 1

    def infer_write_back(self) -> None:
        """The laptop's Infer part, attached by the `usr attach` command line (no registration first)."""
        if not self.sync.has("harness-dataset-layer"):
            self.sync.local_overlay("infer", seed_offset=self.hpc_round)
            return
        ids = pq.read_table(self.sync.local / "records.parquet", columns=["id"]).column("id")
        part = self.folder / f"infer-{len(self.sync.record.evidence)}.parquet"
        pq.write_table(
            overlay_batch(self.sync.record.seed + len(self.sync.record.evidence), "infer", ids), part
        )
        before = set(fingerprint_tree(self.sync.local).by_path)
        result = self.sync.call(
            f"{len(self.sync.record.evidence)}: usr attach (Infer write-back)",
            lambda: self.sync.engine.attach(DATASET, part, "infer"),
        )
        assert result.ok, result.message
        self.stamped |= set(fingerprint_tree(self.sync.local).by_path) - before

    def repo_mapping(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """modes.md's repo mapping on the profile, a remote file to sync, and the laptop at its repo root."""
        document = yaml.safe_load(self.wiring.remotes_config.read_text())
        document["remotes"][REMOTE].update(
            repo_root=str(self.remote_repo), local_repo_root=str(self.local_repo)
        )
        self.wiring.remotes_config.write_text(yaml.safe_dump(document, sort_keys=False))
        table = pa.table({"id": [f"r{i}" for i in range(8)], "score": [float(i) for i in range(8)]})
        for relative in ("permuter/run42", "src/dnadesign/permuter/run42"):
            (self.remote_repo / relative).mkdir(parents=True)
            pq.write_table(table, self.remote_repo / relative / "records.parquet", write_page_checksum=True)
        self.local_repo.mkdir()
        monkeypatch.chdir(self.local_repo)


@pytest.fixture
def walk(sync: Sync, tmp_path: Path) -> Walk:
    """The drill's remote written once for the whole walk, so the runbook's own remotes lines can edit it."""
    wiring = wire_remote(sync.remote.spec, sync.engine.profile.remote_style, tmp_path / "wiring")
    sync.engine.remote, sync.engine.remotes_config = None, wiring.remotes_config
    walk = Walk(sync, wiring, tmp_path / "walk")
    walk.remotes_copy.parent.mkdir(parents=True)
    shutil.copyfile(wiring.remotes_config, walk.remotes_copy)
    walk.remotes_copy.chmod(0o600)
    walk.bad_overlay.write_text("sequence,bad_field\nACGTACGTACGT,1\n")
    return walk


#: The runbook section each walk holds the engine to, by its path inside the upstream `usr` package.
CLAUSES: dict[str, tuple[str, ...]] = {
    "sync-readme": ("docs/operations/sync/README.md#quick-command-loop",),
    "quickstart": (
        "docs/operations/sync/quickstart.md#minimum-command-loop",
        "docs/operations/sync/quickstart.md#iterative-batch-loop-hpc-clone---local-clone",
    ),
    "audit-loop": ("docs/operations/sync/audit-loop.md#quick-loop",),
    "hpc-agent-flow": ("docs/operations/sync/hpc-agent-flow.md#run-loop-hpc-side-writes-local-side-reads",),
    "chained-densegen-infer": ("docs/operations/sync/chained-densegen-infer-runbook.md#full-chained-loop",),
    "fidelity-drills": ("docs/operations/sync/fidelity-drills.md#chained-command-loop",),
    "setup": ("docs/operations/sync/setup.md#configure-a-usr-remote",),
    "modes": (
        "docs/operations/sync/modes.md#dataset-directory-mode",
        "docs/operations/sync/modes.md#file-mode",
    ),
    "troubleshooting": ("docs/operations/sync/troubleshooting.md#failure-diagnosis-sequence",),
}


@pytest.mark.slow
@pytest.mark.parametrize(
    "runbook",
    [pytest.param(name, marks=pytest.mark.enforces(*CLAUSES[name]), id=name) for name in RUNBOOKS],
)
def test_every_runbook_command_runs_as_written(walk: Walk, runbook: str, monkeypatch: pytest.MonkeyPatch):
    if any(isinstance(step, Jq) for step in RUNBOOKS[runbook]) and shutil.which("jq") is None:
        walk.sync.record.add_evidence("unknown_because", "jq is not installed")
        pytest.skip("unknown: jq is not installed")
    for step in RUNBOOKS[runbook]:
        if isinstance(step, HpcBatch):
            walk.hpc_batch()
        elif isinstance(step, InferWriteBack):
            walk.infer_write_back()
        elif isinstance(step, RepoMapping):
            walk.repo_mapping(monkeypatch)
        elif isinstance(step, Jq):
            walk.jq(step)
        else:
            walk.run(step)
    walk.sync.record.add_evidence("steps", [json.dumps(vars(step)) for step in RUNBOOKS[runbook]])
    if runbook not in ("setup", "troubleshooting", "modes"):
        walk.sync.assert_same_trees(wall_clock=walk.stamped)
