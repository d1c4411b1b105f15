"""Tables on the terminal. rich's console costs ~20 ms to import, a fifth of the CLI's start: only a
command that prints a table pays it, never a sync."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def print_table(columns: Sequence[str], rows: Iterable[Sequence[str]], *, show_header: bool = True) -> None:
    """Cells are data, printed as they are (never read as rich markup)."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(*columns, box=None, show_header=show_header)
    for row in rows:
        table.add_row(*(escape(cell) for cell in row))
    Console(highlight=False, soft_wrap=True).print(table)
