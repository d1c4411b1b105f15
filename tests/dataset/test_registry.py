"""registry.yaml: registration rules, strict loading (duplicate keys!), canonical hash, frozen copies."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml

from usr_harness.dataset.registry import (
    COLUMN_TYPES,
    STATE_NAMESPACE,
    Registry,
    adopt_namespaces,
    canonical_yaml,
    ensure_registry,
    freeze_registry,
    frozen_registries,
    load_frozen,
    load_registry,
    namespace_contract_hash,
    register_namespace,
    registry_hash,
)
from usr_harness.errors import NamespaceError, RegistryError, SchemaError

SCORES = [("scores__value", "float64"), ("scores__tags", "list<string>")]
STATE = "usr_state: {columns: [{name: usr_state__v, type: bool}]}"


def test_column_types_cover_the_contract() -> None:
    assert {"int64", "float64", "string", "bool", "list<float64>", "list<string>"} <= set(COLUMN_TYPES)


def test_missing_registry_is_empty(tmp_path: Path) -> None:
    registry = load_registry(tmp_path)
    assert registry == Registry() and registry.namespaces == {}
    assert registry_hash(tmp_path) == hashlib.sha256(canonical_yaml({"namespaces": {}}).encode()).hexdigest()


def test_first_registration_creates_the_file_with_usr_state(tmp_path: Path) -> None:
    registry = register_namespace(tmp_path / "root", "scores", SCORES, owner="lab", description="d")
    text = (tmp_path / "root" / "registry.yaml").read_text()
    assert set(registry.namespaces) == {"scores", STATE_NAMESPACE}
    assert registry.namespaces["scores"].columns == SCORES and registry.namespaces["scores"].owner == "lab"
    assert yaml.safe_load(text)["namespaces"]["scores"]["columns"][1] == {
        "name": "scores__tags",
        "type": "list<string>",
    }
    assert registry.hash == hashlib.sha256(canonical_yaml(yaml.safe_load(text)).encode()).hexdigest()
    assert registry_hash(tmp_path / "root") == registry.hash


def test_hash_is_of_the_canonical_dump_not_the_text(tmp_path: Path) -> None:
    register_namespace(tmp_path, "scores", SCORES)
    before = registry_hash(tmp_path)
    mapping = yaml.safe_load((tmp_path / "registry.yaml").read_text())
    (tmp_path / "registry.yaml").write_text(
        "# edited by hand\n" + yaml.safe_dump(mapping, sort_keys=False, indent=4)
    )
    assert registry_hash(tmp_path) == before


def test_same_columns_again_is_a_no_op_and_drift_is_refused(tmp_path: Path) -> None:
    register_namespace(tmp_path, "scores", SCORES)
    before = (tmp_path / "registry.yaml").read_bytes()
    register_namespace(tmp_path, "scores", SCORES, owner="someone else")
    assert (tmp_path / "registry.yaml").read_bytes() == before
    with pytest.raises(RegistryError, match="scores"):
        register_namespace(tmp_path, "scores", [("scores__value", "int64"), ("scores__tags", "list<string>")])
    with pytest.raises(RegistryError, match="already registered"):
        register_namespace(tmp_path, "scores", SCORES[:1])
    assert (tmp_path / "registry.yaml").read_bytes() == before


@pytest.mark.parametrize("name", ["DenseGen", "2scores", "dense-gen", "dеnsegen", "", "_x", "a b"])
def test_bad_namespace_names_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(NamespaceError, match="namespace") as caught:
        register_namespace(tmp_path, name, [(f"{name}__x", "int64")])
    assert repr(name) in caught.value.message
    assert not (tmp_path / "registry.yaml").exists()


@pytest.mark.parametrize(("name", "token"), [("usr", "reserved"), ("usr_state", "usr_state")])
def test_reserved_namespaces_are_refused(tmp_path: Path, name: str, token: str) -> None:
    with pytest.raises(NamespaceError, match=token):
        register_namespace(tmp_path, name, [(f"{name}__x", "int64")])


@pytest.mark.parametrize(
    ("columns", "token"),
    [
        ([], "at least one column"),
        ([("score", "float64")], "score must be named scores__<field>"),
        ([("infer__llr", "float64")], "belongs to namespace 'infer'"),
        ([("sequence", "string")], "shadows the core column sequence"),
        ([("scores__value", "float32")], "float32"),
        ([("scores__value", "struct<a: int64>")], "struct"),
        ([("scores__value", "int64"), ("scores__value", "float64")], "scores__value is listed twice"),
        ([("scores__", "int64")], "invalid field name"),
        ([("scores__value",)], "pair"),
    ],
)
def test_column_rules(tmp_path: Path, columns: list, token: str) -> None:
    with pytest.raises(SchemaError) as caught:
        register_namespace(tmp_path, "scores", columns)
    assert token in caught.value.message


@pytest.mark.parametrize(
    ("text", "token"),
    [
        ("namespaces: [unclosed\n", "invalid YAML"),
        ("- a\n- b\n", "'namespaces' mapping"),
        ("namespaces:\n  usr_state: {columns: []}\n  usr_state: {columns: []}\n", "duplicate"),
        ("namespaces:\n  scores: {columns: [{name: scores__v, type: float64}]}\n", "no usr_state"),
        ("namespaces:\n  usr_state: {columns: [{name: usr_state__v, type: float32}]}\n", "float32"),
        ("namespaces:\n  usr_state: {columns: [{name: v, type: int64}]}\n", "usr_state__<field>"),
        (f"namespaces:\n  {STATE}\n  usr: {{columns: []}}\n", "reserved"),
        (f"namespaces:\n  {STATE}\n  Bad: {{columns: []}}\n", "'Bad'"),
        ("namespaces:\n  usr_state: {columns: [], extra: 1}\n", "unknown key"),
        ("namespaces:\n  usr_state: {columns: []}\n", "at least one column"),
        ("namespaces:\n  usr_state: {columns: [{name: usr_state__v}]}\n", "{name, type}"),
        ("namespaces:\n  usr_state: {owner: [1], columns: [{name: usr_state__v, type: bool}]}\n", "owner"),
    ],
)
def test_invalid_registry_files_are_registry_errors_naming_the_file(
    tmp_path: Path, text: str, token: str
) -> None:
    (tmp_path / "registry.yaml").write_text(text)
    with pytest.raises(RegistryError) as caught:
        load_registry(tmp_path)
    assert token in caught.value.message and "registry.yaml" in caught.value.message
    with pytest.raises(RegistryError):
        register_namespace(tmp_path, "scores", SCORES)


def test_a_namespace_declared_twice_is_caught_even_though_yaml_keeps_the_last(tmp_path: Path) -> None:
    register_namespace(tmp_path, "densegen", [("densegen__score", "float64")])
    text = (tmp_path / "registry.yaml").read_text()
    shadow = "  densegen:\n    columns: []\n    description: ''\n    owner: intruder\n"
    (tmp_path / "registry.yaml").write_text(text.replace("namespaces:\n", "namespaces:\n" + shadow, 1))
    with pytest.raises(RegistryError, match="densegen"):
        load_registry(tmp_path)


def test_invalid_utf8_is_a_registry_error(tmp_path: Path) -> None:
    (tmp_path / "registry.yaml").write_bytes(b"namespaces: {\xff: 1}\n")
    with pytest.raises(RegistryError, match="UTF-8"):
        load_registry(tmp_path)


def test_contract_hash_depends_on_name_columns_and_order() -> None:
    base = namespace_contract_hash("scores", SCORES)
    assert base == namespace_contract_hash("scores", list(SCORES))
    assert base != namespace_contract_hash("scores", SCORES[::-1])
    assert base != namespace_contract_hash("other", SCORES)
    assert base != namespace_contract_hash("scores", [("scores__value", "int64"), SCORES[1]])


def test_ensure_registry_creates_once(tmp_path: Path) -> None:
    created = ensure_registry(tmp_path / "root")
    assert set(created.namespaces) == {STATE_NAMESPACE}
    register_namespace(tmp_path / "root", "scores", SCORES)
    assert "scores" in ensure_registry(tmp_path / "root").namespaces


def test_freeze_writes_the_canonical_copy_once_and_checks_it(tmp_path: Path) -> None:
    registry = register_namespace(tmp_path, "scores", SCORES)
    dataset_dir = tmp_path / "demo"
    dataset_dir.mkdir()
    frozen = freeze_registry(registry, dataset_dir)
    assert frozen is not None and frozen.name == f"registry.{registry.hash}.yaml"
    assert hashlib.sha256(frozen.read_bytes()).hexdigest() == registry.hash
    assert freeze_registry(registry, dataset_dir) is None
    assert frozen_registries(dataset_dir) == {registry.hash: frozen}
    assert load_frozen(frozen).namespaces == registry.namespaces
    frozen.write_text(frozen.read_text().replace("float64", "int64"))
    with pytest.raises(RegistryError, match="not to the hash in its name"):
        load_frozen(frozen)


def _written_under(tmp_path: Path, name: str, *namespaces: tuple[str, list]) -> Path:
    """A dataset folder holding the frozen copy of a registry that had `namespaces`."""
    source = tmp_path / f"{name}-source"
    for namespace, columns in namespaces:
        register_namespace(source, namespace, columns, owner="hpc")
    dataset_dir = tmp_path / name / "demo"
    dataset_dir.mkdir(parents=True)
    freeze_registry(load_registry(source), dataset_dir)
    return dataset_dir


def test_adoption_into_a_root_without_registry_copies_the_frozen_registry(tmp_path: Path) -> None:
    dataset_dir = _written_under(
        tmp_path, "laptop", ("scores", SCORES), ("infer", [("infer__llr", "float64")])
    )
    root = dataset_dir.parent
    adoption = adopt_namespaces(root, dataset_dir, "demo")
    assert adoption.added == ("infer", "scores", STATE_NAMESPACE)
    assert set(frozen_registries(dataset_dir)) == {registry_hash(root)}
    assert load_registry(root).namespaces["scores"].owner == "hpc"
    assert adopt_namespaces(root, dataset_dir, "demo").added == ()


def test_adoption_adds_only_what_the_root_lacks(tmp_path: Path) -> None:
    dataset_dir = _written_under(tmp_path, "laptop", ("scores", SCORES))
    root = dataset_dir.parent
    register_namespace(root, "infer", [("infer__llr", "float64")])
    assert adopt_namespaces(root, dataset_dir, "demo").added == ("scores",)
    assert set(load_registry(root).namespaces) == {"infer", "scores", STATE_NAMESPACE}


def test_a_conflicting_definition_refuses_and_changes_no_registry(tmp_path: Path) -> None:
    dataset_dir = _written_under(
        tmp_path, "laptop", ("scores", SCORES), ("infer", [("infer__llr", "float64")])
    )
    root = dataset_dir.parent
    register_namespace(root, "scores", [("scores__value", "int64")])
    before = {
        path: path.read_bytes() for path in [root / "registry.yaml", *frozen_registries(dataset_dir).values()]
    }
    with pytest.raises(
        NamespaceError, match="namespace scores is registered as scores__value:int64 but demo's"
    ):
        adopt_namespaces(root, dataset_dir, "demo")
    assert {path: path.read_bytes() for path in before} == before
    assert "infer" not in load_registry(root).namespaces


def test_frozen_copies_that_disagree_refuse(tmp_path: Path) -> None:
    dataset_dir = _written_under(tmp_path, "laptop", ("scores", SCORES))
    other = _written_under(tmp_path, "other", ("scores", [("scores__value", "int64")]))
    for path in frozen_registries(other).values():
        (dataset_dir / "_registry" / path.name).write_bytes(path.read_bytes())
    with pytest.raises(
        NamespaceError, match=r"demo: namespace scores is \S+ in \S+ but .* in \S+; nothing registered"
    ):
        adopt_namespaces(dataset_dir.parent, dataset_dir, "demo")
    assert not (dataset_dir.parent / "registry.yaml").exists()
