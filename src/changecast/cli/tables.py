"""Tables that fit the terminal without cutting what people copy or splitting a header.

Rich ends a value that does not fit with "…", and when a table is too wide it narrows every
column alike: headers break mid-word ("custom ers") while a title still has room. Here a table
that does not fit gives way in this order (:class:`FittedTable`):

1. prose columns (a title, a detail, a comment) wrap, down to 24 characters;
2. the other columns wrap at spaces, never narrower than their header or longest word;
3. prose columns fold further, down to their header's width;
4. the other columns fold long words, down to their header's width.

A column of values pasted into commands (a change id, an email address, an account id) is
``whole``: kept on one line while the others make room. Only when even that cannot fit does
rich's own narrowing apply.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich import box
from rich.cells import cell_len
from rich.table import Column, Table
from rich.text import Text

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions

PROSE = frozenset(
    {
        "title",
        "detail",
        "comment",
        "description",
        "subject",
        "reason",
        "because",
        "changes",
        "value",
        "purpose",
        "current",
        "wanted",
        "preferences after",
    }
)
"""Headers of columns that hold sentences: they wrap first (see :func:`prose`)."""
PROSE_FLOOR = 24
"""How narrow a prose column gets before the other columns wrap."""


WIDE = 100
"""From this many columns on, lists show every column with full borders."""


def list_style(wide: bool) -> dict[str, Any]:
    """A list's options: on a narrow terminal no side borders (their width goes to the title)."""
    if wide:
        return {}
    return {"box": box.SIMPLE_HEAD, "show_edge": False, "pad_edge": False}


class ProseColumn(Column):
    """A column of sentences: the first to wrap when the table is too wide."""


def whole(header: str, *, width: int | None = None) -> Column:
    """A column that is never wrapped or cut (the others make room for it)."""
    return Column(header, no_wrap=True, min_width=width)


def folding(header: str) -> Column:
    """A column whose long values continue on the next line instead of ending in "…"."""
    if header in PROSE:
        return prose(header)
    return Column(header, overflow="fold")


def prose(header: str) -> Column:
    """A column of sentences (a title): it wraps before any other column does."""
    return ProseColumn(header, overflow="fold")


def folding_table(*columns: str | Column, **options: Any) -> FittedTable:
    """A :class:`FittedTable` whose columns given as plain headers fold (see :func:`folding`)."""
    return FittedTable(*(folding(c) if isinstance(c, str) else c for c in columns), **options)


def _plain(cell: object) -> str:
    if isinstance(cell, Text):
        return cell.plain
    if isinstance(cell, str):
        return Text.from_markup(cell).plain
    return ""


class FittedTable(Table):
    """A ``Table`` that narrows prose first, then the rest, and never splits a header."""

    def _calculate_column_widths(self, console: Console, options: ConsoleOptions) -> list[int]:
        available = options.max_width
        columns = self.columns
        widths = [self._measure_column(console, options, column).maximum or 1 for column in columns]
        excess = sum(widths) - available
        if excess <= 0:
            return super()._calculate_column_widths(console, options)
        pads = [self._get_padding_width(column._index) for column in columns]
        headers = [cell_len(_plain(column.header)) if self.show_header else 0 for column in columns]
        words = [
            max((cell_len(w) for cell in column._cells for w in _plain(cell).split()), default=0)
            for column in columns
        ]
        is_prose = [isinstance(column, ProseColumn) for column in columns]
        fixed = [column.no_wrap or column.width is not None for column in columns]
        stages = [
            [
                max(headers[i], PROSE_FLOOR) + pads[i] if is_prose[i] and not fixed[i] else None
                for i in range(len(columns))
            ],
            [
                max(headers[i], words[i], 1) + pads[i] if not is_prose[i] and not fixed[i] else None
                for i in range(len(columns))
            ],
            [
                max(headers[i], 1) + pads[i] if is_prose[i] and not fixed[i] else None
                for i in range(len(columns))
            ],
            [max(headers[i], 1) + pads[i] if not fixed[i] else None for i in range(len(columns))],
        ]
        for floors in stages:
            excess = _shrink(widths, floors, excess)
            if excess <= 0:
                return widths
        return super()._calculate_column_widths(console, options)


def _shrink(widths: list[int], floors: list[int | None], excess: int) -> int:
    """Take up to ``excess`` from the widest columns that have a floor, never below it."""
    while excess > 0:
        room = [
            (width - floor, i)
            for i, (width, floor) in enumerate(zip(widths, floors, strict=True))
            if floor is not None and width > floor
        ]
        if not room:
            break
        widest = max(room, key=lambda entry: (widths[entry[1]], entry[1]))[1]
        widths[widest] -= 1
        excess -= 1
    return excess
