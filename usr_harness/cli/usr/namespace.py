"""`usr namespace register | adopt | list | show`: the overlay namespaces of a root's registry.yaml."""

from __future__ import annotations

from pathlib import Path

import typer

from usr_harness.cli.usr.state import state
from usr_harness.cli.usr.tables import print_table
from usr_harness.errors import NamespaceError, UsageError

namespace_app = typer.Typer(
    name="namespace",
    help="Overlay namespaces: register one with typed columns, list them, show one.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def _root(ctx: typer.Context) -> Path:
    return state(ctx).root


def parse_columns(namespace: str, text: str) -> list[tuple[str, str]]:
    """`ns__score:float64,ns__hits:list<float64>` -> ordered (name, type) pairs, names as given."""
    pairs = []
    for item in (part.strip() for part in text.split(",")):
        name, sep, type_name = item.partition(":")
        if not item or not sep or not name.strip() or not type_name.strip():
            raise UsageError(f"--columns: {item!r} is not name:type (e.g. {namespace}__score:float64)")
        pairs.append((name.strip(), type_name.strip()))
    return pairs


@namespace_app.command("register")
def register_command(
    ctx: typer.Context,
    name: str = typer.Argument(
        ..., help="Namespace name: ^[a-z][a-z0-9_]*$ (usr and usr_state are reserved)."
    ),
    columns: str = typer.Option(
        ...,
        "--columns",
        help="Comma-separated <namespace>__<field>:type pairs; types int64, float64, string, bool, "
        "list<int64>, list<float64>, list<string>.",
    ),
    owner: str = typer.Option("", "--owner", help="Who produces this namespace."),
    description: str = typer.Option("", "--description", help="What the columns mean."),
) -> None:
    """Register a namespace and its typed columns (the same columns again is a no-op)."""
    root = _root(ctx)
    from usr_harness.dataset.registry import register_namespace

    registry = register_namespace(
        root, name, parse_columns(name, columns), owner=owner, description=description
    )
    typer.echo(f"namespace {name} registered in {root / 'registry.yaml'} (registry {registry.hash[:12]})")


@namespace_app.command("adopt")
def adopt_command(
    ctx: typer.Context,
    dataset: str = typer.Argument(..., help="Dataset id under the root whose _registry/ copies to read."),
) -> None:
    """Register the namespaces a dataset was written under (its _registry/ copies) that the root lacks.

    A pull brings the dataset's frozen registries but not the root's registry.yaml; this
    (which a pull also does by itself) lets the laptop write. A namespace the root
    defines with other columns refuses the whole command, registry.yaml unchanged.
    """
    from usr_harness.dataset.dataset import Dataset
    from usr_harness.dataset.registry import adopt_namespaces

    root = _root(ctx)
    opened = Dataset.open(root, dataset)
    adoption = adopt_namespaces(root, opened.path, opened.id)
    typer.echo(adoption_line(adoption.added, root, opened.id))


def adoption_line(added: tuple[str, ...], root: Path, dataset: str) -> str:
    """What an adoption did, in the words `usr namespace adopt` and `usr pull` both print."""
    if not added:
        return f"{root / 'registry.yaml'} already registers every namespace {dataset} was written under"
    return f"registered namespace(s) {', '.join(added)} in {root / 'registry.yaml'} from {dataset}/_registry/"


@namespace_app.command("list")
def list_command(ctx: typer.Context) -> None:
    """One row per registered namespace: owner, column count, description."""
    from usr_harness.dataset.registry import load_registry

    registry = load_registry(_root(ctx))
    if not registry.namespaces:
        typer.echo(f"no registry.yaml under {_root(ctx)} yet")
        return
    rows = [
        [name, spec.owner, str(len(spec.columns)), spec.description]
        for name, spec in sorted(registry.namespaces.items())
    ]
    print_table(["namespace", "owner", "columns", "description"], rows)


@namespace_app.command("show")
def show_command(ctx: typer.Context, name: str = typer.Argument(..., help="A registered namespace.")) -> None:
    """Owner, description, contract hash and every column with its type."""
    from usr_harness.dataset.registry import load_registry

    registry = load_registry(_root(ctx))
    spec = registry.namespaces.get(name)
    if spec is None:
        raise NamespaceError(f"namespace {name!r} is not registered under {_root(ctx)}")
    typer.echo(f"namespace: {name}")
    typer.echo(f"owner: {spec.owner}")
    typer.echo(f"description: {spec.description}")
    from usr_harness.dataset.registry import namespace_contract_hash

    typer.echo(f"contract_hash: {namespace_contract_hash(name, spec.columns)}")
    typer.echo(f"registry_hash: {registry.hash}")
    typer.echo("columns:")
    for column, type_name in spec.columns:
        typer.echo(f"  {column}: {type_name}")


def register(app: typer.Typer) -> None:
    """Add `usr namespace ...` to `app`."""
    app.add_typer(namespace_app, name="namespace")
