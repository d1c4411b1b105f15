"""`usr` dataset and namespace commands end to end through `usr_harness.cli.usr.app.main`."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.dataset.helpers import tree_digest
from usr_harness.cli.usr.app import main
from usr_harness.dataset import Dataset
from usr_harness.errors import DatasetError, NamespaceError, UsageError, ValidationError

ROWS = (
    "bio_type,sequence,alphabet,source\n"
    "dna,ACGTACGT,dna_4,lab\ndna,GGCCAATT,dna_4,lab\nprotein,MKWVTF,protein_20,lab\n"
)


def run(capsys: pytest.CaptureFixture[str], root: Path, *argv: str) -> tuple[int, str, str]:
    code = main(["--root", str(root), *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    folder = tmp_path / "inputs"
    folder.mkdir()
    (folder / "rows.csv").write_text(ROWS)
    return folder


def test_init_register_import_attach_snapshot_validate(
    tmp_path: Path, inputs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "root"
    assert run(capsys, root, "init", "demo", "--source", "lab", "--notes", "cli test")[0] == 0
    code, out, _ = run(
        capsys,
        root,
        "namespace",
        "register",
        "densegen",
        "--columns",
        "densegen__score:float64,densegen__hits:list<float64>",
        "--owner",
        "hpc",
    )
    assert code == 0 and "densegen registered" in out
    code, out, _ = run(capsys, root, "import", "demo", str(inputs / "rows.csv"))
    assert (code, out.strip()) == (0, "imported 3 record(s) into demo")
    ids = Dataset.open(root, "demo").read_records().column("id")
    pq.write_table(
        pa.table({"id": ids, "densegen__score": [0.1, 0.2, 0.3], "densegen__hits": [[1.0], [], [2.0, 3.0]]}),
        inputs / "scores.parquet",
    )
    code, out, _ = run(
        capsys, root, "attach", "demo", str(inputs / "scores.parquet"), "--namespace", "densegen"
    )
    assert code == 0 and out.startswith("attached _derived/densegen/part-")
    code, out, _ = run(capsys, root, "snapshot", "demo")
    assert code == 0 and out.startswith("snapshot _snapshots/records-")
    assert run(capsys, root, "validate", "demo", "--strict") == (0, "demo: valid (strict)\n", "")
    assert run(capsys, root, "validate", "demo")[1] == "demo: valid\n"

    code, out, _ = run(capsys, root, "events", "tail", "demo", "-n", "3")
    assert code == 0 and [json.loads(line)["action"] for line in out.splitlines()] == [
        "import",
        "attach",
        "snapshot",
    ]
    code, out, _ = run(capsys, root, "info", "demo", "--json")
    facts = json.loads(out)
    assert (facts["rows"], facts["parts"], facts["snapshots"], facts["events"]) == (3, {"densegen": 1}, 1, 4)
    code, out, _ = run(capsys, root, "info", "demo")
    assert code == 0 and "densegen=1" in out
    code, out, _ = run(capsys, root, "ls")
    assert code == 0 and out.split()[4:8] == ["demo", "3", "1", "1"]
    code, out, _ = run(capsys, root, "namespace", "list")
    assert code == 0 and "densegen" in out and "usr_state" in out
    code, out, _ = run(capsys, root, "namespace", "show", "densegen")
    assert code == 0 and "  densegen__hits: list<float64>" in out and "owner: hpc" in out
    merged = Dataset.open(root, "demo").read()
    assert merged.column("densegen__score").to_pylist() == [0.1, 0.2, 0.3]


def test_empty_root_listings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, tmp_path, "ls")[1].startswith("no datasets under")
    assert run(capsys, tmp_path, "namespace", "list")[1].startswith("no registry.yaml")


@pytest.mark.parametrize(
    ("argv", "family", "token"),
    [
        (["init", "../escape"], DatasetError, "'..'"),
        (["init", "archived/x"], DatasetError, "archived"),
        (["import", "demo", "{inputs}/rows.csv"], ValidationError, "duplicate ids"),
        (["import", "ghost", "{inputs}/rows.csv"], DatasetError, "ghost"),
        (["import", "demo", "{inputs}/missing.csv"], UsageError, "does not exist"),
        (["attach", "demo", "{inputs}/rows.csv", "--namespace", "ghost"], NamespaceError, "ghost"),
        (["attach", "demo", "{inputs}/rows.csv", "--namespace", "usr"], NamespaceError, "reserved"),
        (
            ["namespace", "register", "usr_state", "--columns", "usr_state__x:int64"],
            NamespaceError,
            "usr_state",
        ),
        (["namespace", "register", "scores", "--columns", "scores__x"], UsageError, "name:type"),
        (["namespace", "show", "nothing"], NamespaceError, "nothing"),
        (["validate", "nothing", "--strict"], DatasetError, "nothing"),
    ],
)
def test_user_errors_print_one_line_and_exit_with_their_family(
    tmp_path: Path,
    inputs: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    family: type,
    token: str,
) -> None:
    root = tmp_path / "root"
    assert run(capsys, root, "init", "demo")[0] == 0
    assert run(capsys, root, "import", "demo", str(inputs / "rows.csv"))[0] == 0
    before = tree_digest(root)
    code, out, err = run(capsys, root, *(arg.format(inputs=inputs) for arg in argv))
    assert code == family.exit_code, err
    assert err.startswith(f"usr: error[{family.family}]: ") and err.count("\n") == 1 and token in err
    assert "Traceback" not in err + out
    assert tree_digest(root) == before


def test_usage_errors_from_typer_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, tmp_path, "import", "demo", "x.csv", "--format", "xlsx")[0] == 2
    assert run(capsys, tmp_path, "attach", "demo", "x.csv", "--namespace", "d", "--key", "name")[0] == 2
    assert run(capsys, tmp_path, "attach", "demo", "x.csv")[0] == 2


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["init"],
        ["import"],
        ["attach"],
        ["snapshot"],
        ["validate"],
        ["ls"],
        ["info"],
        ["events"],
        ["events", "tail"],
        ["namespace"],
        ["namespace", "register"],
        ["namespace", "list"],
        ["namespace", "show"],
    ],
)
def test_every_command_has_help(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    code, out, _ = run(capsys, tmp_path, *command, "--help")
    assert code == 0 and "Usage:" in out


def test_head_shows_the_first_rows_with_overlays_as_a_table_or_json(
    tmp_path: Path, inputs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "root"
    run(capsys, root, "init", "demo")
    run(capsys, root, "import", "demo", str(inputs / "rows.csv"))
    code, out, _ = run(capsys, root, "head", "demo", "-n", "2")
    assert code == 0 and "ACGTACGT" in out and "MKWVTF" not in out and out.endswith("2 of 3 row(s)\n")
    code, out, _ = run(capsys, root, "head", "demo", "-n", "5", "--columns", "sequence,length", "--json")
    assert code == 0
    assert [json.loads(line) for line in out.splitlines()][2] == {"sequence": "MKWVTF", "length": 6}


def test_head_of_an_unknown_column_is_a_schema_error(
    tmp_path: Path, inputs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "root"
    run(capsys, root, "init", "demo")
    before = tree_digest(root)
    code, _, err = run(capsys, root, "head", "demo", "--columns", "nope")
    assert code == 13 and err.startswith("usr: error[schema]: demo has no column(s) nope")
    assert tree_digest(root) == before


def _scored_root(tmp_path: Path, inputs: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    root = tmp_path / "root"
    run(capsys, root, "init", "demo")
    run(capsys, root, "import", "demo", str(inputs / "rows.csv"))
    run(capsys, root, "namespace", "register", "infer", "--columns", "infer__llr:float64")
    (inputs / "overlay.csv").write_text("seq,infer__llr,bad_field\nACGTACGT,0.5,x\nGGCCAATT,1.5,y\n")
    return root


def _upstream_attach(inputs: Path) -> list[str]:
    """The attach line as the upstream runbooks write it (`--path`, `--key`)."""
    return [
        "attach",
        "demo",
        "--path",
        str(inputs / "overlay.csv"),
        "--namespace",
        "infer",
        "--key",
        "sequence",
    ]


def test_attach_takes_the_upstream_path_key_col_and_columns(
    tmp_path: Path, inputs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _scored_root(tmp_path, inputs, capsys)
    argv = _upstream_attach(inputs)
    code, out, err = run(
        capsys, root, *argv, "--key-col", "seq", "--columns", "infer__llr", "--allow-missing"
    )
    assert code == 0, err
    part = root / "demo" / out.split()[1]
    assert pq.read_table(part).column_names == ["sequence", "infer__llr"]


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (["--key-col", "seq", "--columns", "bad_field"], "column bad_field must be named infer__<field>"),
        (["--key-col", "nope"], "input has no key column 'nope'"),
        (["--key-col", "seq", "--columns", "ghost"], "input has no column(s) ghost"),
    ],
    ids=["bare-field", "key-col", "column"],
)
def test_attach_of_the_runbook_attack_fails_fast_and_writes_nothing(
    tmp_path: Path, inputs: Path, capsys: pytest.CaptureFixture[str], extra: list[str], says: str
) -> None:
    root = _scored_root(tmp_path, inputs, capsys)
    before = tree_digest(root)
    argv = _upstream_attach(inputs)
    code, _, err = run(capsys, root, *argv, *extra)
    assert code == 13 and err.startswith("usr: error[schema]: ") and says in err
    assert tree_digest(root) == before


def test_attach_needs_one_overlay_file(
    tmp_path: Path, inputs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _scored_root(tmp_path, inputs, capsys)
    before = tree_digest(root)
    code, _, err = run(capsys, root, "attach", "demo", "--namespace", "infer")
    assert code == 2 and "which overlay file?" in err
    code, _, err = run(capsys, root, "attach", "demo", "a.csv", "--path", "b.csv", "--namespace", "infer")
    assert code == 2 and "overlay file named twice" in err
    assert tree_digest(root) == before
