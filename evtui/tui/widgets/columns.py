"""Table columns laid out by priority: a narrow terminal shrinks them, then hides the least
important ones (the overview's and the violations' tables)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.widgets import DataTable

CELL_PADDING = 2  # a DataTable cell's padding, both sides
SCROLLBAR = 2  # the vertical scrollbar's width, when the rows overflow


@dataclass(frozen=True)
class Column:
    """A table column: its width when there is room, the least it can shrink to, and its
    priority (0 first)."""

    key: str
    label: str
    width: int
    least: int
    priority: int


def fit_columns(columns: Sequence[Column], width: int) -> list[tuple[Column, int]]:
    """The columns that fit in ``width`` cells, in their order, each with its width.

    The most important columns come first at their least width; what room is
    left widens them, in priority order, up to their usual width.
    """
    ranked = sorted(columns, key=lambda c: c.priority)
    kept: list[Column] = []
    used = 0
    for column in ranked:
        if kept and used + column.least + CELL_PADDING > width:
            break
        kept.append(column)
        used += column.least + CELL_PADDING
    widths = {c.key: c.least for c in kept}
    for column in sorted(kept, key=lambda c: c.priority):
        extra = min(column.width - column.least, max(0, width - used))
        widths[column.key] += extra
        used += extra
    return [(c, widths[c.key]) for c in columns if c.key in widths]


def set_columns(table: DataTable, columns: Sequence[Column], width: int) -> bool:
    """Give ``table`` the columns that fit ``width``; True when they changed (the table is
    then empty: add the rows again)."""
    fitted = [(c.key, c.label, w) for c, w in fit_columns(columns, width - SCROLLBAR)]
    current = [(str(k.value), str(c.label), c.width) for k, c in table.columns.items()]
    if fitted == current:
        return False
    table.clear(columns=True)
    for key, label, column_width in fitted:
        table.add_column(label, key=key, width=column_width)
    return True


def shown_cells(
    table: DataTable, columns: Sequence[Column], cells: tuple[str | Text, ...]
) -> tuple[str | Text, ...]:
    """``cells`` (one per column of ``columns``) for the columns ``table`` shows."""
    by_key = {c.key: cell for c, cell in zip(columns, cells, strict=True)}
    return tuple(by_key[str(key.value)] for key in table.columns)
