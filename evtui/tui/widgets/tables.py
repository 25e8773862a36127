"""The console's tables: a DataTable with vim keys, bounded render caches and cells
shown as written, and the keyed row update every pane uses (:func:`sync_rows`).

A table widget of a pane (its columns, its cells) goes next to the pane; what every
table does the same way goes here.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual._two_way_dict import TwoWayDict
from textual.binding import Binding
from textual.cache import LRUCache
from textual.widgets import DataTable

# The most render results a table keeps (DataTable's own: 1,000 lines and rows, 10,000
# cells): a few screens' worth spares re-rendering while scrolling. The results an update
# made stale are dropped at once (drop_stale_renders).
TABLE_CACHE_LINES = 300
TABLE_CACHE_CELLS = 2_000


def as_text(cell: object) -> object:
    """A text cell as Rich ``Text``: DataTable reads a ``str`` cell as markup, so a key such
    as ``k[/]`` (a closing tag with nothing to close) stopped the console and ``[b]K[/b]``
    was shown as a bold ``K``. Cells are data, shown as written."""
    return Text(cell, end="") if isinstance(cell, str) else cell


class VimTable(DataTable):
    """A DataTable with vim-style movement, render caches of a few screens, and cells shown
    as written (never read as markup: :func:`as_text`)."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("g", "scroll_top", "Top", show=False),
        Binding("G", "scroll_bottom", "Bottom", show=False),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bound_render_caches(self)

    def add_row(self, *cells: Any, **kwargs: Any) -> Any:
        return super().add_row(*map(as_text, cells), **kwargs)

    def update_cell(self, row_key: Any, column_key: Any, value: object, **kwargs: Any) -> None:
        super().update_cell(row_key, column_key, as_text(value), **kwargs)

    def update_cell_at(self, coordinate: Any, value: object, **kwargs: Any) -> None:
        super().update_cell_at(coordinate, as_text(value), **kwargs)


def bound_render_caches(table: DataTable) -> None:
    """Shrink ``table``'s render caches to :data:`TABLE_CACHE_LINES` lines (and cells)."""
    sizes = {
        "_line_cache": TABLE_CACHE_LINES,
        "_row_render_cache": TABLE_CACHE_LINES,
        "_row_renderable_cache": TABLE_CACHE_LINES,
        "_cell_render_cache": TABLE_CACHE_CELLS,
    }
    for name, size in sizes.items():
        cache = getattr(table, name, None)
        if isinstance(cache, LRUCache) and cache.maxsize > size:
            cache.maxsize = size


def sync_rows(
    table: DataTable, shown: list[str], rows: dict[str, tuple[str | Text, ...]]
) -> list[str]:
    """Keyed update: change only cells that differ; add and remove only the rows that
    came and went (a rebuild only when most of them did)."""
    keys = list(rows)
    if keys != shown and not (shown and _move_rows(table, shown, rows)):
        cursor_key = shown[table.cursor_row] if shown and table.cursor_row < len(shown) else None
        table.clear()
        for key, cells in rows.items():
            table.add_row(*cells, key=key)
        if cursor_key in rows:
            table.move_cursor(row=keys.index(cursor_key), animate=False)
        return keys
    columns = list(table.columns)
    changed = keys != shown
    with table.app.batch_update():
        for key, cells in rows.items():
            current = table.get_row(key)
            for column, old, new in zip(columns, current, map(as_text, cells), strict=True):
                if old != new:
                    table.update_cell(key, column, new)
                    changed = True
    if changed:
        drop_stale_renders(table)
    return keys


def _move_rows(table: DataTable, shown: list[str], rows: dict[str, tuple[str | Text, ...]]) -> bool:
    """Remove the rows that went, append the new ones, then put all in ``rows``' order; the
    cursor stays on its row. A rebuild measures every cell again (the violations tab:
    80-130 ms for 200 groups each time one group came). False when a rebuild is as cheap,
    or this DataTable keeps its order differently (then nothing was changed)."""
    locations = getattr(table, "_row_locations", None)
    if (
        not isinstance(locations, TwoWayDict)
        or type(getattr(table, "_update_count", None)) is not int
    ):
        return False
    before, wanted = set(shown), set(rows)
    if len(before ^ wanted) > len(rows) // 2 or {k.value for k in table.rows} != before:
        return False
    cursor_key = shown[table.cursor_row] if table.cursor_row < len(shown) else None
    for key in shown:
        if key not in wanted:
            table.remove_row(key)
    for key, cells in rows.items():
        if key not in before:
            table.add_row(*cells, key=key)
    row_keys = {row_key.value: row_key for row_key in table.rows}
    table._row_locations = TwoWayDict({row_keys[key]: i for i, key in enumerate(rows)})
    table._update_count += 1  # as DataTable.sort does after it reorders
    table.refresh()
    if cursor_key in wanted:
        table.move_cursor(row=list(rows).index(cursor_key), animate=False)
    return True


def drop_stale_renders(table: DataTable) -> None:
    """Let go of the renders ``table`` cached before its cells changed.

    DataTable keys every cached line, row and cell with a count of its updates: after
    an update, all of them are stale and stay until the least recently used go. A table
    updated twice a second (the flow's rates) held 180 lines and 1,500 cells of them
    for 22 rows, walked by every full garbage collection (bench/soak).
    """
    clear = getattr(table, "_clear_caches", None)
    if callable(clear):
        clear()
