"""`usr init | import | attach | snapshot | validate | recover | ls | info | head | events tail`.

Each command is a thin shell over `usr_harness.dataset`: it resolves the datasets root
from `usr --root`, calls the layer, and prints a short confirmation. Failures are
UsrError families, which the runner prints as one line with the family's exit code.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from types import ModuleType

import typer

from usr_harness.cli.usr.state import state
from usr_harness.cli.usr.tables import print_table
from usr_harness.errors import SchemaError, UsageError

events_app = typer.Typer(
    name="events", help="The dataset event log (.events.log).", no_args_is_help=True, rich_markup_mode=None
)


class InputFormat(StrEnum):
    csv = "csv"
    jsonl = "jsonl"
    parquet = "parquet"


class JoinKey(StrEnum):
    id = "id"
    sequence = "sequence"


def _layer() -> ModuleType:
    """The dataset layer, imported when a dataset command runs (it brings pyarrow with it)."""
    import usr_harness.dataset.dataset as layer

    return layer


def _root(ctx: typer.Context) -> Path:
    return state(ctx).root


DATASET_ARG = typer.Argument(..., help="Dataset id under the root: `demo` or `ns/demo`.")


def init(
    ctx: typer.Context,
    dataset: str = DATASET_ARG,
    source: str = typer.Option("", "--source", help="Where the records come from (kept in meta.md)."),
    notes: str = typer.Option("", "--notes", help="Free text appended to meta.md."),
) -> None:
    """Create an empty dataset: records.parquet, meta.md, an `init` event."""
    created = _layer().Dataset.init(_root(ctx), dataset, source=source, notes=notes)
    typer.echo(f"initialised {created.id} at {created.path}")


def import_(
    ctx: typer.Context,
    dataset: str = DATASET_ARG,
    file: Path = typer.Argument(..., help="CSV, JSONL or parquet with bio_type, sequence, alphabet."),
    fmt: InputFormat = typer.Option(None, "--format", help="Input format (default: from the file suffix)."),
    source: str = typer.Option(None, "--source", help="Provenance for rows without a source column."),
) -> None:
    """Append records; ids and lengths are derived, duplicates refused."""
    added = (
        _layer()
        .Dataset.open(_root(ctx), dataset)
        .import_rows(file, source=source, fmt=fmt.value if fmt else None)
    )
    typer.echo(f"imported {added} record(s) into {dataset}")


def attach(
    ctx: typer.Context,
    dataset: str = DATASET_ARG,
    file: Path = typer.Argument(
        None, help="Overlay part: a key column plus <namespace>__<field> columns (or --path FILE)."
    ),
    path: Path = typer.Option(None, "--path", help="The overlay file, as the upstream runbooks spell it."),
    namespace: str = typer.Option(..., "--namespace", help="Registered namespace the columns belong to."),
    key: JoinKey = typer.Option(JoinKey.id, "--key", help="Join key: id or sequence."),
    key_col: str = typer.Option(
        None, "--key-col", help="The file's column holding the key (default: --key)."
    ),
    columns: str = typer.Option(
        None, "--columns", help="Comma-separated file columns to attach, names as written (default: all)."
    ),
    allow_missing: bool = typer.Option(
        False, "--allow-missing", help="Keep keys that are not (yet) in the records."
    ),
    fmt: InputFormat = typer.Option(None, "--format", help="Input format (default: from the file suffix)."),
) -> None:
    """Write one overlay part under _derived/<namespace>/ after checking it against the registry."""
    if file and path and file != path:
        raise UsageError(f"overlay file named twice: {file} and --path {path}; give one")
    if not (file or path):
        raise UsageError("which overlay file? pass it as FILE or --path FILE")
    part = (
        _layer()
        .Dataset.open(_root(ctx), dataset)
        .attach(
            file or path,
            namespace=namespace,
            key=key.value,
            allow_missing=allow_missing,
            fmt=fmt.value if fmt else None,
            key_col=key_col,
            columns=[name.strip() for name in columns.split(",") if name.strip()] if columns else None,
        )
    )
    typer.echo(f"attached {part.relative_to(part.parents[2]).as_posix()} to {dataset}")


def snapshot(ctx: typer.Context, dataset: str = DATASET_ARG) -> None:
    """Copy records.parquet to _snapshots/records-<stamp>.parquet (newest five kept)."""
    path = _layer().Dataset.open(_root(ctx), dataset).snapshot()
    typer.echo(f"snapshot {path.parent.name}/{path.name} of {dataset}")


def validate(
    ctx: typer.Context,
    dataset: str = DATASET_ARG,
    strict: bool = typer.Option(
        False, "--strict", help="Decode everything: checksums, ids, parts vs registry, event log."
    ),
) -> None:
    """Check the dataset; exits non-zero with the first problem's family."""
    _layer().Dataset.open(_root(ctx), dataset).validate(strict=strict)
    typer.echo(f"{dataset}: valid{' (strict)' if strict else ''}")


def recover(ctx: typer.Context, dataset: str = DATASET_ARG) -> None:
    """Complete a promotion an interrupted pull or push left pending (any write or sync also does)."""
    if _layer().Dataset(_root(ctx), dataset).recover():
        typer.echo(f"{dataset}: completed an interrupted promotion")
    else:
        typer.echo(f"{dataset}: nothing pending")


def ls(ctx: typer.Context) -> None:
    """List the datasets under the root."""
    root = _root(ctx)
    found = _layer().list_datasets(root)
    if not found:
        typer.echo(f"no datasets under {root}")
        return
    rows = []
    for dataset_id in found:
        info = _layer().Dataset.open(root, dataset_id).info()
        rows.append([dataset_id, str(info["rows"]), str(sum(info["parts"].values())), str(info["snapshots"])])
    print_table(["dataset", "rows", "parts", "snapshots"], rows)


def info(
    ctx: typer.Context,
    dataset: str = DATASET_ARG,
    as_json: bool = typer.Option(False, "--json", help="Print the facts as one JSON object."),
) -> None:
    """Rows, columns, size, provenance and sidecars of one dataset."""
    facts = _layer().Dataset.open(_root(ctx), dataset).info()
    if as_json:
        typer.echo(json.dumps(facts, sort_keys=True))
        return
    rows = []
    for name, value in facts.items():
        shown = ", ".join(value) if isinstance(value, list) else value
        if isinstance(value, dict):
            shown = ", ".join(f"{k}={v}" for k, v in value.items()) or "-"
        rows.append([name, str(shown)])
    print_table(["field", "value"], rows, show_header=False)


def head(
    ctx: typer.Context,
    dataset: str = DATASET_ARG,
    n: int = typer.Option(10, "-n", "--rows", min=0, help="How many rows, in file order."),
    columns: str = typer.Option(None, "--columns", help="Comma-separated columns (default: all)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per row instead of a table."),
) -> None:
    """The first rows of the dataset with its overlay columns merged, as a table or JSON lines."""
    opened = _layer().Dataset.open(_root(ctx), dataset)
    whole = opened.read()
    table = whole.slice(0, n)
    if columns:
        wanted = [name.strip() for name in columns.split(",") if name.strip()]
        missing = [name for name in wanted if name not in table.column_names]
        if missing:
            raise SchemaError(f"{dataset} has no column(s) {', '.join(missing)}", paths=missing)
        table = table.select(wanted)
    rows = table.to_pylist()
    if as_json:
        for row in rows:
            typer.echo(json.dumps(row, ensure_ascii=False, default=str, separators=(",", ":")))
        return
    print_table(table.column_names, ([str(value) for value in row.values()] for row in rows))
    typer.echo(f"{len(rows)} of {whole.num_rows} row(s)")


@events_app.command("tail")
def events_tail(
    ctx: typer.Context,
    dataset: str = DATASET_ARG,
    n: int = typer.Option(10, "-n", "--lines", min=1, help="How many of the newest events."),
) -> None:
    """Print the newest events, one JSON line each, oldest first."""
    for event in _layer().Dataset.open(_root(ctx), dataset).events_tail(n):
        typer.echo(json.dumps(event, ensure_ascii=False, separators=(",", ":")))


def register(app: typer.Typer) -> None:
    """Add the dataset commands and the `events` group to `app`."""
    app.command("init")(init)
    app.command("import")(import_)
    app.command("attach")(attach)
    app.command("snapshot")(snapshot)
    app.command("validate")(validate)
    app.command("recover")(recover)
    app.command("ls")(ls)
    app.command("info")(info)
    app.command("head")(head)
    app.add_typer(events_app, name="events")
