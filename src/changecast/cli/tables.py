"""Tables that fit an 80-column terminal without cutting what people copy.

Rich ends a value that does not fit with "…". A column of values pasted into commands (a change
id, an email address, an account id) is ``whole``: kept on one line while the other columns give
way. Every other column folds: a long word continues on the next line, no character is lost.
"""

from __future__ import annotations

from typing import Any

from rich.table import Column, Table


def whole(header: str, *, width: int | None = None) -> Column:
    """A column that is never wrapped or cut (one per table: the others make room for it)."""
    return Column(header, no_wrap=True, min_width=width)


def folding(header: str) -> Column:
    """A column whose long values continue on the next line instead of ending in "…"."""
    return Column(header, overflow="fold")


def folding_table(*columns: str | Column, **options: Any) -> Table:
    """A ``Table`` whose columns given as plain headers fold (see :func:`folding`)."""
    return Table(*(folding(c) if isinstance(c, str) else c for c in columns), **options)
