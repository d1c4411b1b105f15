"""The adversarial catalogue: hostile inputs, each with the entry point it targets and the error it must draw.

Ids and order are stable: drills parametrize over `CATALOGUE` and reports key on `case.id`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml

from usr_harness.adversarial.hostile import (
    HOMOGLYPH,
    edit_registry,
    fresh_records,
    mirror_to_remote,
    plant_part,
    rename,
    renamespace,
    rewritten_part_bytes,
    set_column,
    table_bytes,
    valid_part,
    write_file,
)
from usr_harness.adversarial.model import AdversarialCase, CaseEnv, HostileInput
from usr_harness.dataset.ids import compute_ids
from usr_harness.dataset.layout import RECORDS_FILE

NOT_PARQUET = b"id,densegen__score\nabc,1.0\n"
DEEP_LIST_ITEMS = (1 << 20) + 1

Build = Callable[[CaseEnv], HostileInput]
RegistryEdit = Callable[[dict], dict | str]


def _register(namespace: str, *columns: tuple[str, str]) -> HostileInput:
    return HostileInput(namespace=namespace, columns=columns)


def _attach_renamespaced(namespace: str) -> Build:
    def build(env: CaseEnv) -> HostileInput:
        return HostileInput(table=renamespace(valid_part(env), "densegen", namespace), namespace=namespace)

    return build


def _attach_with(column: str) -> Build:
    """A valid densegen part with a string column `column` added."""

    def build(env: CaseEnv) -> HostileInput:
        part = valid_part(env)
        return HostileInput(table=set_column(part, column, ["x"] * part.num_rows))

    return build


def _attach_cast(column: str, arrow_type: pa.DataType) -> Build:
    def build(env: CaseEnv) -> HostileInput:
        part = valid_part(env)
        return HostileInput(table=set_column(part, column, part.column(column).cast(arrow_type)))

    return build


def _attach_values(column: str, make: Callable[[int], pa.Array]) -> Build:
    """A valid densegen part whose `column` is rebuilt by `make(n)` (an arrow array of any type)."""

    def build(env: CaseEnv) -> HostileInput:
        part = valid_part(env)
        return HostileInput(table=set_column(part, column, make(part.num_rows)))

    return build


def _one_deep_list(n: int) -> pa.ListArray:
    """First cell holds DEEP_LIST_ITEMS floats, the others none."""
    offsets = pa.array([0] + [DEEP_LIST_ITEMS] * n, pa.int32())
    return pa.ListArray.from_arrays(offsets, pa.array(np.full(DEEP_LIST_ITEMS, 0.5)))


def _attach_keys(edit: Callable[[list], list]) -> Build:
    def build(env: CaseEnv) -> HostileInput:
        part = valid_part(env)
        return HostileInput(table=set_column(part, "id", pa.array(edit(part.column("id").to_pylist()))))

    return build


def _attach_tombstones(env: CaseEnv) -> HostileInput:
    ids = valid_part(env).column("id")
    return HostileInput(table=pa.table({"id": ids, "usr__deleted": [True] * len(ids)}), namespace="usr")


def _attach_duplicate_key(env: CaseEnv) -> HostileInput:
    part = valid_part(env)
    return HostileInput(table=pa.concat_tables([part, part.slice(0, 1)]))


def _attach_foreign_column(env: CaseEnv) -> HostileInput:
    part = valid_part(env)
    return HostileInput(table=part.append_column("infer__llr", pa.array([0.5] * part.num_rows)))


def _attach_by_unknown_sequence(env: CaseEnv) -> HostileInput:
    part = valid_part(env).drop_columns(["id"])
    sequences = fresh_records(env, part.num_rows).column("sequence")
    return HostileInput(table=part.add_column(0, "sequence", sequences), key="sequence")


def _import_with(column: str, make: Callable[[pa.Table], pa.Array | pa.ChunkedArray]) -> Build:
    """Fresh valid records whose `column` is rebuilt by `make(table)`."""

    def build(env: CaseEnv) -> HostileInput:
        records = fresh_records(env)
        return HostileInput(table=set_column(records, column, make(records)))

    return build


def _import_bio_type(value: str) -> Build:
    """Records whose bio_type is `value`, with ids recomputed so only the bio type is wrong."""

    def build(env: CaseEnv) -> HostileInput:
        records = fresh_records(env)
        bio_types = pa.array([value] * records.num_rows)
        records = set_column(records, "bio_type", bio_types)
        return HostileInput(
            table=set_column(records, "id", compute_ids(bio_types, records.column("sequence")))
        )

    return build


def _import_wrong_id(records: pa.Table) -> pa.Array:
    ids = records.column("id").to_pylist()
    ids[0] = ids[0][::-1]
    return pa.array(ids)


def _import_empty_sequence(env: CaseEnv) -> HostileInput:
    records = fresh_records(env).drop_columns(["id", "length"])
    sequences = ["  \t ", *records.column("sequence").to_pylist()[1:]]
    return HostileInput(table=set_column(records, "sequence", pa.array(sequences)))


def _import_duplicate(env: CaseEnv) -> HostileInput:
    records = fresh_records(env)
    return HostileInput(table=pa.concat_tables([records, records.slice(0, 1)]))


def _import_naive_timestamps(records: pa.Table) -> pa.Array:
    return records.column("created_at").cast(pa.timestamp("us"))


def _file(data_of: Callable[[CaseEnv], bytes]) -> Build:
    """The input is a file named `.parquet` holding `data_of(env)`."""

    def build(env: CaseEnv) -> HostileInput:
        return HostileInput(path=write_file(env, "hostile.parquet", data_of(env)))

    return build


def _plant_tampered(key: str, value: str) -> Build:
    def build(env: CaseEnv) -> HostileInput:
        plant_part(env, rewritten_part_bytes(env, {key: value}))
        return HostileInput()

    return build


def _plant_bytes(data_of: Callable[[CaseEnv], bytes]) -> Build:
    def build(env: CaseEnv) -> HostileInput:
        plant_part(env, data_of(env))
        return HostileInput()

    return build


def _without_usr_state(registry: dict) -> dict:
    registry["namespaces"].pop("usr_state")
    return registry


def _duplicate_namespace(registry: dict) -> str:
    """Registry text with `densegen` declared twice (YAML loaders silently keep the last one)."""
    text = yaml.safe_dump(registry, sort_keys=True)
    shadow = yaml.safe_dump({"densegen": {"owner": "intruder", "description": "", "columns": []}})
    indented = "".join(f"  {line}\n" for line in shadow.splitlines())
    return text.replace("namespaces:\n", "namespaces:\n" + indented, 1)


def _registry_edit(edit: RegistryEdit, then: HostileInput | None = None) -> Build:
    def build(env: CaseEnv) -> HostileInput:
        edit_registry(env, edit)
        return then or HostileInput()

    return build


def _registry_edit_then_attach(edit: RegistryEdit) -> Build:
    def build(env: CaseEnv) -> HostileInput:
        part = valid_part(env)
        edit_registry(env, edit)
        return HostileInput(table=part)

    return build


def _zero_row_part(env: CaseEnv) -> bytes:
    return rewritten_part_bytes(env, transform=lambda table: table.slice(0, 0))


def _on_remote(build: Build) -> Build:
    """Run `build` against a copy of the dataset on the remote root: the local side stays valid."""
    return lambda env: build(mirror_to_remote(env))


def _truncated_part(env: CaseEnv) -> bytes:
    data = table_bytes(valid_part(env))
    return data[: len(data) // 2]


def _case(
    case_id: str,
    description: str,
    entry_point: str,
    build: Build,
    family: str | None,
    token: str = "",
) -> AdversarialCase:
    return AdversarialCase(case_id, description, entry_point, build, family, token, entry_point == "pull")


CATALOGUE: tuple[AdversarialCase, ...] = (
    # --- namespace spelling and reservation, at registration
    _case(
        "ns-upper-case",
        "register a namespace with upper-case letters",
        "namespace-register",
        lambda env: _register("DenseGen", ("DenseGen__score", "float64")),
        "namespace",
        "invalid namespace name 'DenseGen'",
    ),
    _case(
        "ns-leading-digit",
        "register a namespace starting with a digit",
        "namespace-register",
        lambda env: _register("2densegen", ("2densegen__score", "float64")),
        "namespace",
        "invalid namespace name '2densegen'",
    ),
    _case(
        "ns-hyphen",
        "register a namespace containing a hyphen",
        "namespace-register",
        lambda env: _register("dense-gen", ("dense-gen__score", "float64")),
        "namespace",
        "invalid namespace name 'dense-gen'",
    ),
    _case(
        "ns-homoglyph",
        "register a namespace spelled with a Cyrillic homoglyph of 'e'",
        "namespace-register",
        lambda env: _register(HOMOGLYPH, (f"{HOMOGLYPH}__score", "float64")),
        "namespace",
        f"invalid namespace name {HOMOGLYPH!r}",
    ),
    _case(
        "ns-empty",
        "register the empty namespace",
        "namespace-register",
        lambda env: _register("", ("__score", "float64")),
        "namespace",
        "invalid namespace name ''",
    ),
    _case(
        "ns-reserved-usr",
        "register the reserved namespace usr",
        "namespace-register",
        lambda env: _register("usr", ("usr__note", "string")),
        "namespace",
        "namespace 'usr' is reserved",
    ),
    _case(
        "ns-reserved-usr-state",
        "register usr_state, which only its own command may write",
        "namespace-register",
        lambda env: _register("usr_state", ("usr_state__note", "string")),
        "namespace",
        "namespace 'usr_state' is reserved",
    ),
    _case(
        "ns-column-without-separator",
        "register a column that lacks the '<namespace>__' prefix",
        "namespace-register",
        lambda env: _register("scores", ("score", "float64")),
        "schema",
        "column score must be named scores__<field>",
    ),
    _case(
        "ns-column-foreign-prefix",
        "register a column carrying another namespace's prefix",
        "namespace-register",
        lambda env: _register("scores", ("infer__llr", "float64")),
        "schema",
        "(it belongs to namespace 'infer')",
    ),
    _case(
        "ns-column-shadows-core",
        "register a column named like a core column",
        "namespace-register",
        lambda env: _register("scores", ("sequence", "string")),
        "schema",
        "shadows the core column sequence",
    ),
    _case(
        "ns-column-unknown-type",
        "register a column of a type the registry does not know (float32)",
        "namespace-register",
        lambda env: _register("scores", ("scores__value", "float32")),
        "schema",
        "unknown type 'float32'",
    ),
    _case(
        "ns-column-struct-type",
        "register a nested struct column",
        "namespace-register",
        lambda env: _register("scores", ("scores__value", "struct<a: int64>")),
        "schema",
        "unknown type 'struct<a: int64>'",
    ),
    _case(
        "ns-column-duplicate",
        "register the same column twice with different types",
        "namespace-register",
        lambda env: _register("scores", ("scores__value", "int64"), ("scores__value", "float64")),
        "schema",
        "column scores__value is listed twice",
    ),
    _case(
        "ns-redefine-types",
        "re-register densegen with score drifted from float64 to int64",
        "namespace-register",
        lambda env: _register(
            "densegen",
            ("densegen__score", "int64"),
            ("densegen__motif_hits", "list<float64>"),
            ("densegen__n_sites", "int64"),
            ("densegen__library", "string"),
        ),
        "registry",
        "namespace densegen is already registered",
    ),
    _case(
        "registry-duplicate-namespace",
        "registry.yaml declares densegen twice; then register another namespace",
        "namespace-register",
        _registry_edit(_duplicate_namespace, _register("scores", ("scores__value", "float64"))),
        "registry",
        "duplicate or unhashable key 'densegen'",
    ),
    _case(
        "registry-invalid-yaml",
        "registry.yaml is not YAML; then register another namespace",
        "namespace-register",
        _registry_edit(
            lambda registry: "namespaces: [unclosed\n", _register("scores", ("scores__value", "float64"))
        ),
        "registry",
        "invalid YAML",
    ),
    # --- overlay parts through attach
    _case(
        "attach-ns-upper-case",
        "attach a part under an upper-case namespace",
        "attach",
        _attach_renamespaced("DenseGen"),
        "namespace",
        "invalid namespace name 'DenseGen'",
    ),
    _case(
        "attach-ns-homoglyph",
        "attach a part under a homoglyph of a registered namespace",
        "attach",
        _attach_renamespaced(HOMOGLYPH),
        "namespace",
        f"invalid namespace name {HOMOGLYPH!r}",
    ),
    _case(
        "attach-ns-reserved-usr",
        "attach tombstone-like columns under the reserved namespace usr",
        "attach",
        _attach_tombstones,
        "namespace",
        "namespace 'usr' is reserved",
    ),
    _case(
        "attach-ns-reserved-usr-state",
        "attach a part under usr_state, bypassing its own command",
        "attach",
        _attach_renamespaced("usr_state"),
        "namespace",
        "namespace 'usr_state' is reserved",
    ),
    _case(
        "attach-ns-unregistered",
        "attach a part under a namespace missing from registry.yaml",
        "attach",
        _attach_renamespaced("ghost"),
        "namespace",
        "namespace 'ghost' is not registered",
    ),
    _case(
        "attach-column-without-separator",
        "a part column without the '<namespace>__' prefix",
        "attach",
        lambda env: HostileInput(table=rename(valid_part(env), {"densegen__score": "score"})),
        "schema",
        "column score must be named densegen__<field>",
    ),
    _case(
        "attach-column-foreign-prefix",
        "a densegen part carrying an infer column",
        "attach",
        _attach_foreign_column,
        "schema",
        "(it belongs to namespace 'infer')",
    ),
    _case(
        "attach-column-shadows-core",
        "a part column named like a core column",
        "attach",
        _attach_with("sequence"),
        "schema",
        "shadows the core column sequence",
    ),
    _case(
        "attach-column-unregistered",
        "a namespaced column the registry does not list",
        "attach",
        _attach_with("densegen__extra"),
        "schema",
        "column densegen__extra is not registered for namespace densegen",
    ),
    _case(
        "attach-drift-int-for-float",
        "densegen__score as int64 where the registry says float64",
        "attach",
        _attach_values("densegen__score", lambda n: pa.array(range(n), pa.int64())),
        "schema",
        "column densegen__score is int64, but the registry says double",
    ),
    _case(
        "attach-drift-float-for-int",
        "densegen__n_sites as float64 where the registry says int64",
        "attach",
        _attach_cast("densegen__n_sites", pa.float64()),
        "schema",
        "column densegen__n_sites is double, but the registry says int64",
    ),
    _case(
        "attach-drift-float32",
        "densegen__score narrowed to float32",
        "attach",
        _attach_cast("densegen__score", pa.float32()),
        "schema",
        "column densegen__score is float, but the registry says double",
    ),
    _case(
        "attach-drift-string-for-list",
        "densegen__motif_hits as a string where the registry says list<float64>",
        "attach",
        _attach_values("densegen__motif_hits", lambda n: pa.array(["[1.0, 2.0]"] * n)),
        "schema",
        "column densegen__motif_hits is string, but the registry says list<item: double>",
    ),
    _case(
        "attach-drift-list-for-string",
        "densegen__library as list<string> where the registry says string",
        "attach",
        _attach_values("densegen__library", lambda n: pa.array([["a", "b"]] * n)),
        "schema",
        "column densegen__library is list<item: string>, but the registry says string",
    ),
    _case(
        "attach-drift-nested-struct",
        "densegen__score as a struct<value: float64>",
        "attach",
        _attach_values("densegen__score", lambda n: pa.array([{"value": 1.0}] * n)),
        "schema",
        "column densegen__score is struct<value: double>",
    ),
    _case(
        "attach-drift-deep-list",
        "densegen__motif_hits nested three lists deep",
        "attach",
        _attach_values("densegen__motif_hits", lambda n: pa.array([[[[1.0]]]] * n)),
        "schema",
        "column densegen__motif_hits is list<item: list<item: list<item: double>>>",
    ),
    _case(
        "attach-key-null",
        "a part with a null join key",
        "attach",
        _attach_keys(lambda ids: [None, *ids[1:]]),
        "validation",
        "key column id has a null at row 0",
    ),
    _case(
        "attach-key-duplicate",
        "a part with the same join key twice",
        "attach",
        _attach_duplicate_key,
        "validation",
        "duplicate keys in key column id",
    ),
    _case(
        "attach-key-unknown",
        "a part keyed on an id the dataset does not hold",
        "attach",
        _attach_keys(lambda ids: ["0" * 40, *ids[1:]]),
        "validation",
        "1 id key(s) not in records: 0000000000000000000000000000000000000000",
    ),
    _case(
        "attach-key-sequence-unknown",
        "a part joined on sequence, with sequences the dataset does not hold",
        "attach",
        _attach_by_unknown_sequence,
        "validation",
        "sequence key(s) not in records",
    ),
    _case(
        "attach-key-missing",
        "a part without its join key column",
        "attach",
        lambda env: HostileInput(table=valid_part(env).drop_columns(["id"])),
        "schema",
        "the part has no key column 'id'",
    ),
    _case(
        "attach-huge-string",
        "a 17 MiB string cell (the limit is 16 MiB)",
        "attach",
        _attach_values("densegen__library", lambda n: pa.array(["x" * (17 << 20)] + ["ok"] * (n - 1))),
        "validation",
        "column densegen__library has a 17825792-byte value",
    ),
    _case(
        "attach-deep-list",
        "a list<float64> cell one element over the 1,048,576 limit",
        "attach",
        _attach_values("densegen__motif_hits", _one_deep_list),
        "validation",
        "column densegen__motif_hits has a list of 1048577 elements",
    ),
    _case(
        "attach-zero-rows",
        "a part with no rows",
        "attach",
        lambda env: HostileInput(table=valid_part(env).slice(0, 0)),
        "validation",
        "the part has no rows",
    ),
    _case(
        "attach-not-parquet",
        "a CSV file named .parquet",
        "attach",
        _file(lambda env: NOT_PARQUET),
        "schema",
        "is not a readable parquet file",
    ),
    _case(
        "attach-truncated-parquet",
        "a parquet file cut in half (magic present, footer gone)",
        "attach",
        _file(_truncated_part),
        "schema",
        "is not a readable parquet file",
    ),
    _case(
        "attach-registry-invalid-yaml",
        "attach a valid part while registry.yaml is not YAML",
        "attach",
        _registry_edit_then_attach(lambda registry: "namespaces: {densegen: [\n"),
        "registry",
        "invalid YAML",
    ),
    # --- core records through import
    _case(
        "import-bad-alphabet",
        "sequences with a symbol outside their alphabet",
        "import",
        lambda env: HostileInput(table=fresh_records(env, invalid_alphabet=True)),
        "validation",
        "outside alphabet dna_4",
    ),
    _case(
        "import-unknown-alphabet",
        "an alphabet name that does not exist",
        "import",
        _import_with("alphabet", lambda t: pa.array(["dna_6"] * t.num_rows)),
        "validation",
        "unknown alphabet 'dna_6'",
    ),
    _case(
        "import-alphabet-of-other-bio-type",
        "a dna record declared with a protein alphabet",
        "import",
        _import_with("alphabet", lambda t: pa.array(["protein_20"] * t.num_rows)),
        "validation",
        "alphabet protein_20 does not belong to bio_type dna",
    ),
    _case(
        "import-empty-sequence",
        "a sequence of whitespace only (empty once stripped)",
        "import",
        _import_empty_sequence,
        "validation",
        "is empty",
    ),
    _case(
        "import-existing-ids",
        "records the dataset already holds",
        "import",
        lambda env: HostileInput(table=pq.read_table(env.dataset_dir / RECORDS_FILE).slice(0, 3)),
        "validation",
        "3 record(s) already in the dataset",
    ),
    _case(
        "import-bio-type-pipe",
        "a bio_type containing '|', the id separator",
        "import",
        _import_bio_type("dna|rna"),
        "validation",
        "contains '|', the id separator",
    ),
    _case(
        "import-bio-type-unknown",
        "a bio_type outside dna|rna|protein",
        "import",
        _import_bio_type("peptide"),
        "validation",
        "bio_type 'peptide'",
    ),
    _case(
        "import-wrong-id",
        "an id that is not sha1('<bio_type>|<sequence>')",
        "import",
        _import_with("id", _import_wrong_id),
        "validation",
        "= sha1('<bio_type>|<sequence.strip()>')",
    ),
    _case(
        "import-wrong-length",
        "a length that does not match the sequence",
        "import",
        _import_with("length", lambda t: pc.add(t.column("length"), pa.scalar(1, pa.int32()))),
        "validation",
        "but the stripped sequence has",
    ),
    _case(
        "import-duplicate-ids",
        "the same record twice in one import",
        "import",
        _import_duplicate,
        "validation",
        "duplicate ids",
    ),
    _case(
        "import-null-sequence",
        "a null sequence",
        "import",
        _import_with(
            "sequence", lambda t: pa.array([None, *t.column("sequence").to_pylist()[1:]], pa.string())
        ),
        "validation",
        "column sequence has a null at row 0",
    ),
    _case(
        "import-naive-timestamp",
        "created_at without a time zone",
        "import",
        _import_with("created_at", _import_naive_timestamps),
        "schema",
        "without a time zone",
    ),
    _case(
        "import-missing-column",
        "records without the alphabet column",
        "import",
        lambda env: HostileInput(table=fresh_records(env).drop_columns(["alphabet"])),
        "schema",
        "lacks column(s) alphabet",
    ),
    _case(
        "import-extra-core-like-column",
        "records with an extra 'Sequence' column beside 'sequence'",
        "import",
        _import_with("Sequence", lambda t: t.column("sequence")),
        "schema",
        "unknown column(s) Sequence",
    ),
    _case(
        "import-zero-rows",
        "an import with no rows",
        "import",
        lambda env: HostileInput(table=fresh_records(env).slice(0, 0)),
        "validation",
        "records input has no rows",
    ),
    _case(
        "import-not-parquet",
        "a CSV file named .parquet",
        "import",
        _file(lambda env: NOT_PARQUET),
        "schema",
        "is not a readable parquet file",
    ),
    # --- files planted in the dataset, caught by validate --strict
    _case(
        "part-meta-wrong-namespace",
        "a part under _derived/densegen whose metadata claims namespace infer",
        "validate-strict",
        _plant_tampered("usr:overlay_namespace", "infer"),
        "schema",
        "metadata usr:overlay_namespace says 'infer'",
    ),
    _case(
        "part-meta-stale-registry-hash",
        "a part whose registry hash matches no registry the dataset has seen",
        "validate-strict",
        _plant_tampered("usr:registry_hash", "0" * 64),
        "schema",
        "matches no registry this dataset was written under",
    ),
    _case(
        "part-meta-wrong-contract-hash",
        "a part whose namespace contract hash does not match the registry",
        "validate-strict",
        _plant_tampered("usr:namespace_contract_hash", "f" * 64),
        "schema",
        "metadata usr:namespace_contract_hash does not match",
    ),
    _case(
        "part-not-parquet",
        "a CSV file planted under a valid part name",
        "validate-strict",
        _plant_bytes(lambda env: NOT_PARQUET),
        "schema",
        "not a readable parquet file",
    ),
    _case(
        "part-zero-rows",
        "a part with no rows planted under a valid part name",
        "validate-strict",
        _plant_bytes(_zero_row_part),
        "schema",
        "the part has no rows",
    ),
    _case(
        "registry-missing-usr-state",
        "registry.yaml edited to drop usr_state",
        "validate-strict",
        _registry_edit(_without_usr_state),
        "registry",
        "has no usr_state namespace",
    ),
    # --- a remote carrying hostile files, caught by pull (needs the sync engine)
    _case(
        "pull-part-not-parquet",
        "the remote holds a CSV file under a valid part name",
        "pull",
        _on_remote(_plant_bytes(lambda env: NOT_PARQUET)),
        "verify",
        "parquet",
    ),
    _case(
        "pull-part-truncated",
        "the remote holds a part cut in half",
        "pull",
        _on_remote(_plant_bytes(_truncated_part)),
        "verify",
        "parquet",
    ),
    _case(
        "pull-part-wrong-contract-hash",
        "the remote holds a part whose contract hash does not match the registry",
        "pull",
        _on_remote(_plant_tampered("usr:namespace_contract_hash", "f" * 64)),
        "schema",
        "usr:namespace_contract_hash",
    ),
)

_BY_ID = {case.id: case for case in CATALOGUE}
if len(_BY_ID) != len(CATALOGUE):
    raise RuntimeError("adversarial catalogue ids must be unique")


def case_by_id(case_id: str) -> AdversarialCase:
    return _BY_ID[case_id]
