"""The namespace registry (`<root>/registry.yaml`): who owns which overlay columns, with which types.

Its hash (sha256 of the canonical YAML dump, sorted keys) is stamped into every file a
mutation writes, and each dataset keeps a frozen copy of every registry it was written
under, so a part can always be checked against the contract it was written to.
YAML loaders silently keep the last of two equal keys; this one refuses them, because
a namespace declared twice is exactly how a contract gets overwritten unnoticed.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import yaml

from usr_harness.dataset.fsio import atomic_write_bytes, file_kind
from usr_harness.dataset.layout import NAMESPACE_NAME, REGISTRY_DIR, REGISTRY_FILE, REGISTRY_LOCK
from usr_harness.dataset.locks import file_lock
from usr_harness.dataset.quoting import quote
from usr_harness.dataset.schema import CORE_COLUMNS
from usr_harness.errors import NamespaceError, RegistryError, SchemaError, UsrError

"""Root-level lock serialising registrations (outside every dataset folder, so never synced)."""

COLUMN_TYPES: dict[str, pa.DataType] = {
    "int64": pa.int64(),
    "float64": pa.float64(),
    "string": pa.string(),
    "bool": pa.bool_(),
    "list<int64>": pa.list_(pa.int64()),
    "list<float64>": pa.list_(pa.float64()),
    "list<string>": pa.list_(pa.string()),
}

STATE_NAMESPACE = "usr_state"
TOMBSTONE_NAMESPACE = "usr"
RESERVED_NAMESPACES = frozenset({TOMBSTONE_NAMESPACE, STATE_NAMESPACE})
FIELD_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_]*$")
FROZEN_NAME = re.compile(r"^registry\.([0-9a-f]{64})\.yaml$")

Columns = list[tuple[str, str]]


@dataclass
class NamespaceSpec:
    """One namespace's registration: its owner, what it is for, and its ordered typed columns."""

    owner: str = ""
    description: str = ""
    columns: Columns = field(default_factory=list)

    def arrow_types(self) -> dict[str, pa.DataType]:
        return {name: COLUMN_TYPES[type_name] for name, type_name in self.columns}

    def as_mapping(self) -> dict[str, object]:
        return {
            "owner": self.owner,
            "description": self.description,
            "columns": [{"name": name, "type": type_name} for name, type_name in self.columns],
        }


USR_STATE_SPEC = NamespaceSpec(
    owner="usr",
    description="record state kept by usr (masks, QC, splits, lineage); only its own command writes it",
    columns=[
        ("usr_state__masked", "bool"),
        ("usr_state__qc_status", "string"),
        ("usr_state__split", "string"),
        ("usr_state__supersedes", "string"),
        ("usr_state__lineage", "list<string>"),
    ],
)


def canonical_yaml(mapping: dict) -> str:
    """The one text a registry mapping hashes as (and is written as)."""
    return yaml.safe_dump(mapping, sort_keys=True, default_flow_style=False, allow_unicode=False)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


EMPTY_MAPPING: dict = {"namespaces": {}}


@dataclass
class Registry:
    """A loaded registry; `hash` and `canonical` describe the mapping it was loaded from."""

    namespaces: dict[str, NamespaceSpec] = field(default_factory=dict)
    hash: str = field(default_factory=lambda: _sha256(canonical_yaml(EMPTY_MAPPING)))
    canonical: str = field(default_factory=lambda: canonical_yaml(EMPTY_MAPPING))
    path: Path | None = None

    def require(self, namespace: str, *, dataset: str | None = None) -> NamespaceSpec:
        """The namespace's spec, or a NamespaceError saying it is not registered."""
        spec = self.namespaces.get(namespace)
        if spec is None:
            where = f"{dataset}: " if dataset else ""
            raise NamespaceError(
                f"{where}namespace {namespace!r} is not registered in {self.path or REGISTRY_FILE}; "
                f"run `usr namespace register {namespace} --columns ...` first",
                dataset=dataset,
            )
        return spec


def namespace_contract_hash(name: str, columns: Columns) -> str:
    """sha256 of the namespace and its ordered (column, type) pairs: what a part promises to follow."""
    return _contract_hash(name, tuple((column, type_name) for column, type_name in columns))


@functools.lru_cache(maxsize=256)
def _contract_hash(name: str, columns: tuple[tuple[str, str], ...]) -> str:
    """Cached: a pull checks every arriving part against its contract (20,000 parts: 20,000 asks)."""
    body = {"namespace": name, "columns": [[column, type_name] for column, type_name in columns]}
    return _sha256(json.dumps(body, separators=(",", ":"), ensure_ascii=False))


def check_namespace_name(name: object, *, allow_reserved: bool = False) -> str:
    """A well-formed, non-reserved namespace name, else a NamespaceError naming it."""
    if not isinstance(name, str) or not NAMESPACE_NAME.fullmatch(name):
        raise NamespaceError(
            f"invalid namespace name {name!r}: must match {NAMESPACE_NAME.pattern} "
            "(lower-case ASCII letter first, then lower-case letters, digits, '_')"
        )
    if not allow_reserved and name == TOMBSTONE_NAMESPACE:
        raise NamespaceError(
            "namespace 'usr' is reserved (tombstones usr__deleted, ...); choose another name"
        )
    if not allow_reserved and name == STATE_NAMESPACE:
        raise NamespaceError("namespace 'usr_state' is reserved: only its own command writes it")
    return name


def check_columns(
    namespace: str, columns: object, *, error: type[UsrError] = SchemaError, where: str = ""
) -> Columns:
    """Ordered (name, type) pairs, each `<namespace>__<field>` of a known type, no repeats, no core names."""
    prefix = f"{where}namespace {namespace}"
    if not isinstance(columns, list | tuple) or not columns:
        raise error(f"{prefix}: needs at least one column")
    checked: Columns = []
    seen: set[str] = set()
    for pair in columns:
        if not (isinstance(pair, list | tuple) and len(pair) == 2 and all(isinstance(p, str) for p in pair)):
            raise error(f"{prefix}: column {pair!r} must be a (name, type) pair of strings")
        name, type_name = pair
        if name in CORE_COLUMNS:
            raise error(f"{prefix}: column {name} shadows the core column {name}")
        if not name.startswith(f"{namespace}__"):
            owner = f" (it belongs to namespace {name.split('__', 1)[0]!r})" if "__" in name else ""
            raise error(f"{prefix}: column {name} must be named {namespace}__<field>{owner}")
        if not FIELD_NAME.fullmatch(name[len(namespace) + 2 :]):
            raise error(f"{prefix}: column {name} has an invalid field name (letters, digits, '_')")
        if type_name not in COLUMN_TYPES:
            raise error(
                f"{prefix}: column {name} has unknown type {type_name!r}; "
                f"known types: {', '.join(COLUMN_TYPES)}"
            )
        if name in seen:
            raise error(f"{prefix}: column {name} is listed twice")
        seen.add(name)
        checked.append((name, type_name))
    return checked


class _StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """Safe loader (libyaml's when present: same result, faster) that refuses a mapping key given twice."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    seen: set[object] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, list | dict) or key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate or unhashable key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _text(value: object, what: str, source: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise RegistryError(f"{source}: {what} must be a string, got {value!r}")
    return value


def _parse_spec(name: str, body: object, source: str) -> NamespaceSpec:
    if not isinstance(body, dict):
        raise RegistryError(f"{source}: namespace {name} must be a mapping with owner, description, columns")
    unknown = sorted(set(body) - {"owner", "description", "columns"})
    if unknown:
        raise RegistryError(f"{source}: namespace {name} has unknown key(s) {', '.join(map(str, unknown))}")
    entries = body.get("columns")
    if not isinstance(entries, list):
        raise RegistryError(f"{source}: namespace {name}: columns must be a list of {{name, type}}")
    pairs = []
    for entry in entries:
        if not isinstance(entry, dict) or set(entry) != {"name", "type"}:
            raise RegistryError(f"{source}: namespace {name}: column entry {entry!r} must be {{name, type}}")
        pairs.append((entry["name"], entry["type"]))
    columns = check_columns(name, pairs, error=RegistryError, where=f"{source}: ")
    return NamespaceSpec(
        owner=_text(body.get("owner"), f"namespace {name} owner", source),
        description=_text(body.get("description"), f"namespace {name} description", source),
        columns=columns,
    )


def parse_registry(text: str, source: str, path: Path | None = None) -> Registry:
    """Parse and check registry YAML; every problem is a RegistryError naming `source`."""
    try:
        mapping = yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as error:
        raise RegistryError(f"{source}: invalid YAML: {' '.join(str(error).split())}") from None
    if not isinstance(mapping, dict) or not isinstance(mapping.get("namespaces"), dict):
        raise RegistryError(f"{source}: must be a mapping with a 'namespaces' mapping")
    namespaces: dict[str, NamespaceSpec] = {}
    for name, body in mapping["namespaces"].items():
        if not isinstance(name, str) or not NAMESPACE_NAME.fullmatch(name):
            raise RegistryError(f"{source}: invalid namespace name {name!r}")
        if name == TOMBSTONE_NAMESPACE:
            raise RegistryError(f"{source}: namespace 'usr' is reserved and cannot be registered")
        namespaces[name] = _parse_spec(name, body, source)
    if STATE_NAMESPACE not in namespaces:
        raise RegistryError(f"{source}: has no {STATE_NAMESPACE} namespace (every registry keeps it)")
    canonical = canonical_yaml(mapping)
    return Registry(namespaces=namespaces, hash=_sha256(canonical), canonical=canonical, path=path)


def registry_path(root: Path) -> Path:
    return Path(root) / REGISTRY_FILE


def load_registry(root: Path) -> Registry:
    """The registry of a datasets root; a missing file is an empty registry (nothing registered yet)."""
    path = registry_path(root)
    kind = file_kind(path)
    if kind not in ("file", "missing"):
        raise RegistryError(f"{quote(path)}: registry.yaml is a {kind}, not a regular file")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return Registry()
    except OSError as error:
        raise RegistryError(f"{quote(path)}: cannot read: {error}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise RegistryError(f"{quote(path)}: not UTF-8 ({error})") from None
    return parse_registry(text, str(path), path)


def registry_hash(root: Path) -> str:
    """sha256 of the canonical YAML dump of the loaded registry."""
    return load_registry(root).hash


def _initial_mapping() -> dict:
    return {"namespaces": {STATE_NAMESPACE: USR_STATE_SPEC.as_mapping()}}


def _write(root: Path, mapping: dict) -> Registry:
    path = registry_path(root)
    registry = parse_registry(canonical_yaml(mapping), str(path), path)
    atomic_write_bytes(path, registry.canonical.encode("utf-8"))
    return registry


def ensure_registry(root: Path) -> Registry:
    """The root's registry, created with only `usr_state` when there is none yet."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    with file_lock(root / REGISTRY_LOCK):
        if registry_path(root).exists():
            return load_registry(root)
        return _write(root, _initial_mapping())


def register_namespace(
    root: Path, name: str, columns: Columns, *, owner: str = "", description: str = ""
) -> Registry:
    """Add a namespace; the same columns again is a no-op, different ones a RegistryError."""
    check_namespace_name(name)
    checked = check_columns(name, columns)
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    with file_lock(root / REGISTRY_LOCK):
        path = registry_path(root)
        if path.exists():
            registry = load_registry(root)
            mapping = yaml.safe_load(registry.canonical)
        else:
            registry, mapping = None, _initial_mapping()
        if registry is not None and name in registry.namespaces:
            existing = registry.namespaces[name].columns
            if existing == checked:
                return registry
            raise RegistryError(
                f"{path}: namespace {name} is already registered with columns "
                f"{_describe(existing)}; refusing to change them to {_describe(checked)}"
            )
        spec = NamespaceSpec(owner=owner, description=description, columns=checked)
        mapping["namespaces"][name] = spec.as_mapping()
        return _write(root, mapping)


def _describe(columns: Columns) -> str:
    return ", ".join(f"{name}:{type_name}" for name, type_name in columns)


def frozen_registries(dataset_dir: Path) -> dict[str, Path]:
    """Hash -> path of every registry copy frozen into `<dataset>/_registry/`."""
    folder = Path(dataset_dir) / REGISTRY_DIR
    if not folder.is_dir():
        return {}
    found = {}
    for path in sorted(folder.iterdir()):
        match = FROZEN_NAME.fullmatch(path.name)
        if match and path.is_file():
            found[match.group(1)] = path
    return found


def frozen_path(dataset_dir: Path, digest: str) -> Path:
    return Path(dataset_dir) / REGISTRY_DIR / f"registry.{digest}.yaml"


def freeze_registry(registry: Registry, dataset_dir: Path) -> Path | None:
    """Write `_registry/registry.<hash>.yaml` unless it is there; returns the new file, if any."""
    target = frozen_path(dataset_dir, registry.hash)
    if target.exists():
        return None
    target.parent.mkdir(exist_ok=True)
    atomic_write_bytes(target, registry.canonical.encode("utf-8"))
    return target


def load_frozen(path: Path) -> Registry:
    """A frozen copy, checked to still hash to the name it was frozen under."""
    match = FROZEN_NAME.fullmatch(path.name)
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise RegistryError(f"{quote(path)}: cannot read: {error}") from None
    registry = parse_registry(text, str(path), path)
    if match is None or registry.hash != match.group(1):
        raise RegistryError(f"{quote(path)}: content hashes to {registry.hash}, not to the hash in its name")
    return registry


@dataclass(frozen=True)
class Adoption:
    """What `adopt_namespaces` registered (sorted names; empty when the root had them all)."""

    added: tuple[str, ...]
    registry: Registry


def frozen_namespaces(dataset_dir: Path, dataset: str) -> dict[str, tuple[NamespaceSpec, Path]]:
    """Every namespace the dataset's frozen registries define, with the copy it was read from.

    A namespace's columns never change once registered, so two copies that disagree
    mean one was edited: a NamespaceError, never a silent pick of either.
    """
    found: dict[str, tuple[NamespaceSpec, Path]] = {}
    for path in frozen_registries(dataset_dir).values():
        for name, spec in load_frozen(path).namespaces.items():
            seen = found.setdefault(name, (spec, path))
            if seen[0].columns != spec.columns:
                raise NamespaceError(
                    f"{dataset}: namespace {name} is {_describe(seen[0].columns)} in {seen[1]} but "
                    f"{_describe(spec.columns)} in {path}; nothing registered",
                    dataset=dataset,
                )
    return found


def plan_adoption(
    current: Registry, frozen: dict[str, tuple[NamespaceSpec, Path]], dataset: str
) -> dict[str, NamespaceSpec]:
    """The namespaces the root lacks; one the root defines with other columns refuses the whole plan."""
    for name, (spec, path) in sorted(frozen.items()):
        mine = current.namespaces.get(name)
        if mine is not None and mine.columns != spec.columns:
            where = current.path or REGISTRY_FILE
            raise NamespaceError(
                f"{where}: namespace {name} is registered as {_describe(mine.columns)} "
                f"but {dataset}'s frozen registry {path.name} defines {_describe(spec.columns)}; "
                "nothing registered",
                dataset=dataset,
            )
    return {name: spec for name, (spec, _path) in frozen.items() if name not in current.namespaces}


def adopt_namespaces(root: Path, dataset_dir: Path, dataset: str) -> Adoption:
    """Register, in the root, every namespace the dataset was written under that the root lacks.

    This is what makes a laptop able to write after its first pull: the pull brings the
    dataset's frozen registries, not the root's registry.yaml. All or nothing, under the
    registry lock: a conflicting definition leaves registry.yaml exactly as it was.
    """
    root = Path(root)
    with file_lock(root / REGISTRY_LOCK):
        current = load_registry(root)
        missing = plan_adoption(current, frozen_namespaces(dataset_dir, dataset), dataset)
        if not missing:
            return Adoption((), current)
        mapping = yaml.safe_load(current.canonical) if current.path else _initial_mapping()
        for name, spec in sorted(missing.items()):
            mapping["namespaces"][name] = spec.as_mapping()
        return Adoption(tuple(sorted(missing)), _write(root, mapping))
