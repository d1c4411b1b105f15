"""Names in messages: quoted with repr-style escapes, so an error stays one line whatever a name holds.

A file name or dataset id can carry a newline, a terminal escape, bytes that are not
UTF-8 (surrogate escapes) or a character that only looks like another; printed raw,
it could split the one-line error or rewrite the operator's terminal. Stdlib only:
the agent ships it, so remote messages quote names the same way.
"""

from __future__ import annotations

import os


def quote(name: object, limit: int | None = None) -> str:
    """`'name'` with every control, non-printable and surrogate-escaped character escaped;
    past `limit` characters it is cut and marked with `...`."""
    if isinstance(name, os.PathLike):
        name = os.fspath(name)
    if isinstance(name, bytes):
        name = name.decode("utf-8", "surrogateescape")
    text = str(name)
    if limit is not None and len(text) > limit:
        return repr(text[:limit]) + "..."
    return repr(text)


def one_line(text: str) -> str:
    """`text` with line breaks, other control characters and surrogates escaped; printable text kept."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)
