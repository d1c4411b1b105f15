"""A laptop can write after its first pull: the pull registers the namespaces of the dataset."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from tests.usr_sides import DATASET, Sides, make_dataset, overlay_table
from usr_harness.cli.usr.sync import brought_frozen_registries
from usr_harness.dataset import Dataset
from usr_harness.dataset.registry import load_registry, register_namespace
from usr_harness.errors import NamespaceError
from usr_harness.report.fingerprint import fingerprint_tree


def _overlay_file(sides: Sides, tmp_path: Path) -> Path:
    path = tmp_path / "infer.parquet"
    pq.write_table(overlay_table(Dataset.open(sides.local_root, DATASET), "infer__llr", 2.0), path)
    return path


def test_first_pull_registers_the_namespaces_so_attach_works(sides: Sides, tmp_path: Path) -> None:
    make_dataset(sides.remote_root)
    pulled = sides.usr("pull", DATASET, "loopback", "-y")
    assert pulled.code == 0, pulled.err + pulled.out
    assert "registered namespace(s) densegen, infer, usr_state in " in pulled.out
    assert load_registry(sides.local_root).hash == load_registry(sides.remote_root).hash
    attached = sides.usr("attach", DATASET, str(_overlay_file(sides, tmp_path)), "--namespace", "infer")
    assert attached.code == 0, attached.err
    assert sides.usr("push", DATASET, "loopback", "-y").code == 0
    assert sides.usr("diff", DATASET, "loopback").audit["data"]["up_to_date"] is True


def test_a_conflicting_root_registry_is_left_alone_and_named(sides: Sides) -> None:
    make_dataset(sides.remote_root)
    register_namespace(sides.local_root, "infer", [("infer__llr", "string")])
    registry_before = (sides.local_root / "registry.yaml").read_bytes()
    pulled = sides.usr("pull", DATASET, "loopback", "-y")
    assert pulled.code == 0, pulled.err + pulled.out
    assert "WARNING: namespaces not registered (namespace): " in pulled.err
    assert f"see `usr namespace adopt {DATASET}`" in pulled.err
    assert (sides.local_root / "registry.yaml").read_bytes() == registry_before
    before = fingerprint_tree(sides.local_root), fingerprint_tree(sides.remote_root)
    adopted = sides.usr("namespace", "adopt", DATASET)
    assert adopted.code == NamespaceError.exit_code
    assert adopted.err.startswith("usr: error[namespace]: ") and len(adopted.err.splitlines()) == 1
    assert "namespace infer is registered as infer__llr:string" in adopted.err
    assert (fingerprint_tree(sides.local_root), fingerprint_tree(sides.remote_root)) == before


def test_only_a_pull_that_brought_frozen_registries_adopts() -> None:
    def audit(state: str, remote_only: list[str], content: list[str]) -> dict:
        section = {"remote_only": remote_only, "content_changed": content}
        return {"data": {"transfer_state": state, "_auxiliary": section}}

    frozen = "_registry/registry." + "0" * 64 + ".yaml"
    assert brought_frozen_registries(audit("TRANSFERRED", [frozen], []))
    assert brought_frozen_registries(audit("TRANSFERRED", [], [frozen]))
    assert not brought_frozen_registries(audit("TRANSFERRED", ["_artifacts/x"], []))
    assert not brought_frozen_registries(audit("NO-OP", [frozen], []))
    assert not brought_frozen_registries(audit("DRY-RUN", [frozen], []))
