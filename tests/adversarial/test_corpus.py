"""`fixtures/adversarial/` is the catalogue's hostile inputs as files: regenerated, it is byte-identical,
and its stored inputs, fed to their entry points, draw the errors the index says."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from usr_harness.adversarial.catalogue import CATALOGUE
from usr_harness.adversarial.export import DATASET, DEFAULT_SEED, INDEX_FILE, STORED_LIMIT, export_corpus
from usr_harness.adversarial.runner import prepare_dataset
from usr_harness.dataset import Dataset
from usr_harness.dataset.registry import register_namespace
from usr_harness.errors import UsageError, UsrError

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "adversarial"
INDEX = json.loads((CORPUS / INDEX_FILE).read_text(encoding="utf-8"))


def _files(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes() for path in folder.rglob("*") if path.is_file()
    }


def test_the_committed_corpus_is_what_the_catalogue_builds(tmp_path: Path) -> None:
    export_corpus(tmp_path / "corpus", DEFAULT_SEED)
    built, committed = _files(tmp_path / "corpus"), _files(CORPUS)
    assert sorted(built) == sorted(committed), (
        "regenerate: usr-harness adversarial export fixtures/adversarial"
    )
    moved = [name for name in built if built[name] != committed[name]]
    assert not moved, f"files differ from the catalogue's build: {moved}"


def test_the_index_lists_every_case_and_stores_only_small_inputs() -> None:
    assert [case["id"] for case in INDEX["cases"]] == [case.id for case in CATALOGUE]
    inputs = [entry for case in INDEX["cases"] for entry in case["inputs"]]
    assert all(case["inputs"] for case in INDEX["cases"])
    assert all(entry["stored"] == (entry["size"] <= STORED_LIMIT) for entry in inputs)
    assert all((CORPUS / entry["file"]).is_file() == entry["stored"] for entry in inputs)
    assert any(not entry["stored"] for entry in inputs), "the 17 MiB string case is listed by sha256 only"


def test_export_refuses_to_replace_a_folder_that_is_not_a_corpus(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine\n")
    with pytest.raises(UsageError, match="not a corpus"):
        export_corpus(tmp_path)
    assert (tmp_path / "notes.txt").is_file()


def _enter(case: dict, root: Path, folder: Path) -> None:
    """Call the case's entry point with the corpus files, as the drills call it with the built input."""
    names = {Path(entry["file"]).name: folder / entry["file"] for entry in case["inputs"]}
    for entry in case["inputs"]:
        relative = entry["file"].split("/", 1)[1]
        if relative.startswith("local/"):
            shutil.copyfile(folder / entry["file"], root / relative.removeprefix("local/"))
    dataset = Dataset.open(root, DATASET)
    if case["entry_point"] == "namespace-register":
        spec = json.loads(names["register.json"].read_text(encoding="utf-8"))
        register_namespace(root, spec["namespace"], [tuple(column) for column in spec["columns"]])
    elif case["entry_point"] == "validate-strict":
        dataset.validate(strict=True)
    else:
        path = names.get("input.parquet") or names["hostile.parquet"]
        if case["entry_point"] == "import":
            dataset.import_rows(path)
        else:
            dataset.attach(path, namespace=case["call"]["namespace"], key=case["call"]["key"])


REPLAYABLE = [
    case
    for case in INDEX["cases"]
    if case["entry_point"] != "pull" and all(entry["stored"] for entry in case["inputs"])
]


@pytest.mark.parametrize("case", REPLAYABLE, ids=[case["id"] for case in REPLAYABLE])
def test_a_stored_input_draws_the_error_the_index_names(case: dict, tmp_path: Path) -> None:
    prepare_dataset(tmp_path, DATASET, INDEX["seed"])
    with pytest.raises(UsrError) as drawn:
        _enter(case, tmp_path, CORPUS)
    assert drawn.value.family == case["expected_family"], drawn.value.message
    assert case["expected_token"] in _as_built(drawn.value.message)


def _as_built(message: str) -> str:
    """A list column read back from a parquet file names its items `element`, a built table `item`."""
    return message.replace("list<element: ", "list<item: ")
