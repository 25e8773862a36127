"""Cluster overview: topics (partitions, offsets, live produce rate) and consumer groups."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
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
from evtui.tui.widgets.lagstatus import STATUS_STYLES
from evtui.tui.widgets.status import StatusLine
from evtui.tui.widgets.tables import VimTable as VimTable  # (still importable from here)
from evtui.tui.widgets.tables import sync_rows as sync_rows

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
