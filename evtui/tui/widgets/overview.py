"""Cluster overview: topics (partitions, offsets, live produce rate) and consumer groups."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual._two_way_dict import TwoWayDict
from textual.app import ComposeResult
from textual.binding import Binding
from textual.cache import LRUCache
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Input

from evtui.core.cluster import (
    ClusterSnapshot,
    GroupInfo,
    TopicInfo,
    filter_groups,
    filter_topics,
    members_text,
    state_text,
)
from evtui.core.lag import GroupLag, LagReport
from evtui.core.text import plural, visible
from evtui.tui.widgets.columns import Column, set_columns, shown_cells
from evtui.tui.widgets.header import number
from evtui.tui.widgets.status import StatusLine

TOPIC_COLUMNS = (
    Column("mark", " ", 1, 1, 0),
    Column("name", "TOPIC", 32, 12, 0),
    Column("partitions", "PARTS", 5, 5, 3),
    Column("messages", "MESSAGES", 12, 8, 2),
    Column("end", "END OFFSETS", 12, 11, 4),
    Column("rate", "RATE/s", 9, 6, 1),
)
GROUP_COLUMNS = (
    Column("name", "CONSUMER GROUP", 28, 14, 0),
    Column("state", "STATE", 18, 6, 3),
    Column("members", "MEMBERS", 7, 7, 4),
    Column("lag", "LAG", 10, 6, 2),
    Column("status", "STATUS", 8, 7, 1),
)


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


class TopicTable(VimTable):
    """The topics: Enter tails the one under the cursor (or the marked ones)."""

    BINDINGS = [Binding("enter", "select_cursor", "Tail")]


class GroupTable(VimTable):
    """The consumer groups: Enter opens the group's lag."""

    BINDINGS = [Binding("enter", "select_cursor", "Lag")]


def _rate(topic: TopicInfo) -> str:
    if topic.rate is None:
        return "…"
    return f"{topic.rate:,.1f}" if topic.rate < 100 else number(topic.rate)


def _right(text: str) -> Text:
    return Text(text, justify="right")


def topic_cells(topic: TopicInfo, marked: bool) -> tuple[str | Text, ...]:
    return (
        "●" if marked else " ",
        visible(topic.name),
        _right(str(topic.partitions)),
        _right(number(topic.messages)),
        _right(number(topic.end_offsets)),
        _right(_rate(topic)),
    )


def group_cells(group: GroupInfo, lag: GroupLag | None, polled: bool) -> tuple[str | Text, ...]:
    """A group with its lag and status from the lag poller (``…`` until its first poll)."""
    from evtui.tui.widgets.lagpane import STATUS_STYLES  # it imports this module

    state, members = state_text(group.state, group.as_of_ms), _right(members_text(group.members))
    if lag is None:
        waiting = Text("…" if not polled else "-", style="dim")
        return (visible(group.name), state, members, waiting, waiting)
    total = "-" if lag.lag is None else number(lag.lag)
    status = Text(str(lag.status), style=STATUS_STYLES.get(lag.status, ""))
    return (visible(group.name), state, members, _right(total), status)


class Overview(Vertical):
    """Lists filtered as you type (after /); Enter tails a topic, Space marks several."""

    BINDINGS = [
        Binding("slash", "focus_filter", "Filter lists"),
        Binding("space", "mark", "Mark topic"),
        Binding("i", "toggle_internal", "Internal topics"),
    ]

    class TailRequested(Message):
        def __init__(self, topics: list[str]) -> None:
            self.topics = topics
            super().__init__()

    class LagRequested(Message):
        """Enter on a consumer group: its lag, on the lag tab."""

        def __init__(self, group: str) -> None:
            self.group = group
            super().__init__()

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.snapshot: ClusterSnapshot | None = None
        self.include_internal = False
        self.marked: set[str] = set()
        self._shown_topics: list[str] = []
        self._shown_groups: list[str] = []
        self.lag_report: LagReport | None = None
        self.lag: dict[str, GroupLag] = {}  # the lag poller's last report, by group
        self.lag_polled = False

    def compose(self) -> ComposeResult:
        yield Input(placeholder="/ filter topics and groups", id="overview-filter")
        with Horizontal(id="overview-lists"):
            yield TopicTable(id="topics", cursor_type="row", zebra_stripes=True)
            yield GroupTable(id="groups", cursor_type="row", zebra_stripes=True)
        yield StatusLine("Waiting for the first look at the cluster…", id="overview-status")

    @property
    def filter_text(self) -> str:
        return self.query_one("#overview-filter", Input).value

    def update_snapshot(self, snapshot: ClusterSnapshot | None) -> None:
        self.snapshot = snapshot
        self._render_lists()

    def update_lag(self, report: LagReport | None) -> None:
        """The lag poller's report: each group's lag and status, so that the first screen
        answers "is anything stuck?"."""
        self.lag_report = report
        self.lag = {g.group: g for g in report.groups} if report is not None else {}
        self.lag_polled = report is not None
        self._render_lists()

    def on_mount(self) -> None:
        self._fit_tables()

    def on_resize(self) -> None:
        self._fit_tables()

    def _fit_tables(self) -> None:
        """Side by side when wide, one above the other when narrow (the app's -narrow
        class); each table's columns by priority for the width it gets."""
        width = self.size.width or self.app.size.width
        each = width if self.app.has_class("-narrow") else width // 2 - 1
        topics, groups = self.query_one("#topics", VimTable), self.query_one("#groups", VimTable)
        if set_columns(topics, TOPIC_COLUMNS, each):
            self._shown_topics = []
        if set_columns(groups, GROUP_COLUMNS, each):
            self._shown_groups = []
        self._render_lists()

    def _render_lists(self) -> None:
        snapshot = self.snapshot
        if snapshot is None or not self.query("#overview-filter"):
            return  # nothing yet, or the app is closing and the children are gone
        topics = filter_topics(snapshot, self.filter_text, self.include_internal)
        groups = filter_groups(snapshot, self.filter_text)
        table = self.query_one("#topics", VimTable)
        self._shown_topics = sync_rows(
            table,
            self._shown_topics,
            {
                t.name: shown_cells(table, TOPIC_COLUMNS, topic_cells(t, t.name in self.marked))
                for t in topics
            },
        )
        group_table = self.query_one("#groups", VimTable)
        self._shown_groups = sync_rows(
            group_table,
            self._shown_groups,
            {
                g.name: shown_cells(
                    group_table,
                    GROUP_COLUMNS,
                    group_cells(g, self.lag.get(g.name), self.lag_polled),
                )
                for g in groups
            },
        )
        self._render_status(snapshot, len(topics), len(groups))

    def _render_status(self, snapshot: ClusterSnapshot, topics: int, groups: int) -> None:
        hidden = "" if self.include_internal else " (internal hidden: i shows them)"
        text = f"{plural(topics, 'topic')}{hidden}, {plural(groups, 'group')}."
        if self.marked:
            text += f" Marked: {', '.join(sorted(self.marked))} (Enter tails them)."
        for problem in snapshot.problems:
            text += f"\n⚠ {problem}"
        self.query_one("#overview-status", StatusLine).show(text)

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "overview-filter":
            self._render_lists()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "overview-filter":
            self.query_one("#topics", VimTable).focus()

    def action_focus_filter(self) -> None:
        self.query_one("#overview-filter", Input).focus()

    def action_toggle_internal(self) -> None:
        self.include_internal = not self.include_internal
        self._render_lists()

    def _current_topic(self) -> str | None:
        table = self.query_one("#topics", VimTable)
        if not self._shown_topics or not table.has_focus:
            return None
        row = min(table.cursor_row, len(self._shown_topics) - 1)
        return self._shown_topics[row]

    def action_mark(self) -> None:
        topic = self._current_topic()
        if topic is None:
            return
        self.marked ^= {topic}
        self._render_lists()
        self.query_one("#topics", VimTable).action_cursor_down()

    def action_tail_topics(self) -> None:
        topic = self._current_topic()
        chosen = sorted(self.marked) or ([topic] if topic else [])
        if chosen:
            self.post_message(self.TailRequested(chosen))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.data_table.id == "topics":
            self.action_tail_topics()
        elif event.data_table.id == "groups" and event.row_key.value in self._shown_groups:
            self.post_message(self.LagRequested(str(event.row_key.value)))


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
