"""Consumer lag: groups with status, trend and ETA; the partitions of the selected group.

Renders :class:`~evtui.core.lag.LagReport` s the app pulls from its lag poller
on a timer. Rows are updated by key (cells that changed only), so the cursor
stays where it is. ``x`` reads the exact time lag of the selected group (the
age of the record at each committed offset) in a thread; it is shown, marked
``exact``, while that committed offset stays the same.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Input, Static

from evtui.core.cluster import state_text
from evtui.core.lag import EXACT, SEVERITY, GroupLag, LagReport, PartitionLag, Status
from evtui.core.lag_text import eta_text, seconds_text, time_lag_text
from evtui.core.text import plural, visible
from evtui.tui.widgets.columns import Column, fit_columns
from evtui.tui.widgets.lagstatus import STATUS_STYLES
from evtui.tui.widgets.tables import VimTable, sync_rows

GROUP_COLUMNS = (
    Column("name", "CONSUMER GROUP", 30, 14, 0),
    Column("state", "STATE", 12, 6, 6),
    Column("members", "MEMBERS", 8, 7, 7),
    Column("lag", "LAG", 12, 7, 2),
    Column("time", "TIME LAG", 10, 8, 4),
    Column("status", "STATUS", 8, 7, 1),
    Column("trend", "TREND", 16, 10, 5),
    Column("eta", "ETA", 8, 6, 3),
)
PART_COLUMNS = (
    Column("tp", "TOPIC[PARTITION]", 34, 14, 0),
    Column("committed", "COMMITTED", 11, 9, 4),
    Column("end", "END", 11, 9, 5),
    Column("lag", "LAG", 10, 7, 2),
    Column("time", "TIME LAG", 16, 12, 3),
    Column("status", "STATUS", 8, 7, 1),
    Column("member", "MEMBER", 28, 10, 6),
)
SCROLLBAR = 2  # the vertical scrollbar's width, when the rows overflow
SORTS = ("name", "lag", "time lag", "status")
BARS = "▁▂▃▄▅▆▇█"
GAP = "·"  # a sample whose lag is unknown

ExactReader = Callable[[LagReport, str], dict[tuple[str, int], int]]


def sparkline(values: Sequence[int | None], width: int = 16) -> str:
    """The last ``width`` values as bars scaled to their maximum, which is ``█``.

    0 is the lowest bar and any lag above 0 at least the second, so a lag of 1
    never looks like none; an unknown value is a gap (``·``), never a 0.
    """
    shown = values[-width:] if width > 0 else ()
    top = max((v for v in shown if v is not None), default=0)
    return "".join(_bar(v, top) for v in shown)


def _bar(value: int | None, top: int) -> str:
    if value is None:
        return GAP
    if value <= 0 or top <= 0:
        return BARS[0]
    steps = len(BARS) - 1
    return BARS[max(1, min(steps, -(-value * steps // top)))]  # rounded up: 1 of 474 shows


def compact(value: int) -> str:
    """``474``, ``12k``, ``3.4M``: a scale that fits a few cells."""
    for size, unit in ((1_000_000_000, "G"), (1_000_000, "M"), (1_000, "k")):
        if value >= size:
            scaled = value / size
            return f"{scaled:.1f}{unit}" if scaled < 10 else f"{scaled:.0f}{unit}"
    return str(value)


def trend_text(values: Sequence[int | None], width: int = 16) -> str:
    """The sparkline with its scale: the highest lag it shows (``-`` when none is known)."""
    known = [v for v in values[-width:] if v is not None]
    bars = max(1, width - (len(compact(max(known))) if known else 1) - 1)
    known = [v for v in values[-bars:] if v is not None]  # the scale of the bars shown
    scale = compact(max(known)) if known else "-"
    return f"{sparkline(values, bars)} {scale}" if values else ""


def _right(text: str) -> Text:
    return Text(text, justify="right")


def _status(status: Status) -> Text:
    return Text(str(status), style=STATUS_STYLES[status])


def _count(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def group_cells(group: GroupLag, trend_width: int = 16) -> tuple[str | Text, ...]:
    """Every column's cell, in :data:`GROUP_COLUMNS` order."""
    name = visible(group.group) + (" ⚠" if group.problem else "")
    return (
        name,
        state_text(group.state, group.as_of_ms),
        _right(str(group.members)),
        _right(_count(group.lag)),
        _right(seconds_text(group.time_lag_s)),
        _status(group.status),
        trend_text(group.trend, trend_width),
        _right(eta_text(group)),
    )


def part_cells(part: PartitionLag) -> tuple[str | Text, ...]:
    """Every column's cell, in :data:`PART_COLUMNS` order."""
    committed = "no offset" if part.committed is None else f"{part.committed:,}"
    time_text = time_lag_text(part) + (" exact" if part.time_lag_kind == EXACT and part.lag else "")
    return (
        f"{part.topic}[{part.partition}]" + (" ⚠" if part.problem else ""),
        _right(committed),
        _right(f"{part.end:,}"),
        _right(_count(part.lag)),
        _right(time_text),
        _status(part.status),
        part.member or "-",
    )


def _add_columns(table: DataTable, layout: Sequence[tuple[Column, int]]) -> None:
    """(Re)build ``table``'s columns (and drop its rows) to ``layout``."""
    table.clear(columns=True)
    for column, width in layout:
        table.add_column(column.label, key=column.key, width=width)


def _pick(
    cells: tuple[str | Text, ...], columns: Sequence[Column], layout: Sequence[tuple[Column, int]]
) -> tuple[str | Text, ...]:
    """The cells of the columns the layout shows."""
    shown = {c.key for c, _ in layout}
    return tuple(cell for cell, c in zip(cells, columns, strict=True) if c.key in shown)


def _sort_key(sort: str) -> Callable[[GroupLag], tuple]:
    if sort == "lag":
        return lambda g: (-(g.lag or 0), g.group)
    if sort == "time lag":
        return lambda g: (-(g.time_lag_s or 0), g.group)
    if sort == "status":
        return lambda g: (-SEVERITY[g.status], g.group)
    return lambda g: (g.group,)


class LagPane(Vertical):
    """Groups above, the selected group's partitions below."""

    BINDINGS = [
        Binding("slash", "focus_filter", "Filter groups"),
        Binding("s", "cycle_sort", "Sort"),
        Binding("x", "exact", "Exact time lag"),
        Binding("enter", "drill", "Partitions", show=False),
        Binding("escape", "back", "Groups", show=False),
    ]

    def __init__(self, exact_reader: ExactReader | None = None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.report: LagReport | None = None  # shown: the polled one, with exact time lags
        self.polled: LagReport | None = None  # as the poller gave it
        self.trouble: str | None = None  # why the last poll failed (the report is older)
        self.sort = "status"
        self.exact_reader = exact_reader
        self.exact_times: dict[str, dict[tuple[str, int], tuple[int, int]]] = {}  # tp: (offset, ts)
        self.exact_lock = threading.Lock()
        self._shown_groups: list[str] = []
        self._shown_parts: list[str] = []
        self.selected_group: str | None = None
        self._wanted_group: str | None = None  # asked for before the report showed it
        wide = 10_000  # every column at its usual width until the pane is sized
        self.group_layout = fit_columns(GROUP_COLUMNS, wide)
        self.part_layout = fit_columns(PART_COLUMNS, wide)

    def compose(self) -> ComposeResult:
        yield Input(placeholder="/ filter consumer groups", id="lag-filter")
        groups = VimTable(id="lag-groups", cursor_type="row", zebra_stripes=True)
        _add_columns(groups, self.group_layout)
        yield groups
        parts = VimTable(id="lag-partitions", cursor_type="row", zebra_stripes=True)
        _add_columns(parts, self.part_layout)
        yield parts
        yield Static("Reading consumer groups…", id="lag-status", markup=False)

    def on_resize(self, event: events.Resize) -> None:
        """Lay the tables out for the width: shrink, then hide the least important columns."""
        width = event.size.width - SCROLLBAR
        groups, parts = fit_columns(GROUP_COLUMNS, width), fit_columns(PART_COLUMNS, width)
        if (groups, parts) == (self.group_layout, self.part_layout):
            return
        self.group_layout, self.part_layout = groups, parts
        _add_columns(self.query_one("#lag-groups", VimTable), groups)
        _add_columns(self.query_one("#lag-partitions", VimTable), parts)
        self._shown_groups, self._shown_parts = [], []
        if self.report is not None:
            selected = self.selected_group
            self._refresh_rows()
            if selected in self._shown_groups:  # the cursor stays on its group
                row = self._shown_groups.index(selected)
                self.query_one("#lag-groups", VimTable).move_cursor(row=row, animate=False)

    @property
    def hidden_columns(self) -> list[str]:
        """The labels of the group columns this width cannot show."""
        shown = {c.key for c, _ in self.group_layout}
        return [c.label for c in GROUP_COLUMNS if c.key not in shown]

    # -- state in ------------------------------------------------------------------------

    def update_report(self, report: LagReport | None) -> None:
        if not self.query("#lag-filter"):
            return  # closing
        if report is None:
            if self.trouble:
                self.query_one("#lag-status", Static).update(f"⚠ {self.trouble}")
            return
        self.polled = report
        self.report = self._with_exact(report)
        self._refresh_rows()

    def _with_exact(self, report: LagReport) -> LagReport:
        """Exact time lags read before, while each committed offset is unchanged."""
        from dataclasses import replace

        with self.exact_lock:
            exact = dict(self.exact_times)
        if not exact:
            return report
        groups = []
        for group in report.groups:
            known = exact.get(group.group)
            if not known:
                groups.append(group)
                continue
            parts = []
            for part in group.partitions:
                found = known.get((part.topic, part.partition))
                if found and part.lag and found[0] == part.committed:
                    age = max(0.0, (report.taken_ms - found[1]) / 1000)
                    part = replace(part, time_lag_s=age, time_lag_kind=EXACT)
                parts.append(part)
            groups.append(replace(group, partitions=tuple(parts)))
        return LagReport(groups, report.taken_ms, report.problems)

    # -- rendering -----------------------------------------------------------------------

    @property
    def shown(self) -> list[GroupLag]:
        if self.report is None:
            return []
        needle = self.query_one("#lag-filter", Input).value.strip().lower()
        groups = [g for g in self.report.groups if needle in g.group.lower()]
        return sorted(groups, key=_sort_key(self.sort))

    def _refresh_rows(self) -> None:
        groups = self.shown
        table = self.query_one("#lag-groups", VimTable)
        layout = self.group_layout
        trend = next((width for c, width in layout if c.key == "trend"), 0)
        rows = {g.group: _pick(group_cells(g, trend), GROUP_COLUMNS, layout) for g in groups}
        self._shown_groups = sync_rows(table, self._shown_groups, rows)
        if self._wanted_group in self._shown_groups:
            table.move_cursor(row=self._shown_groups.index(self._wanted_group), animate=False)
            self.selected_group, self._wanted_group = self._wanted_group, None
        if self.selected_group not in self._shown_groups:
            self.selected_group = self._cursor_group()
        self._show_parts({g.group: g for g in groups}.get(self.selected_group or ""))
        self._show_status(groups)

    def _cursor_group(self) -> str | None:
        table = self.query_one("#lag-groups", VimTable)
        if not self._shown_groups:
            return None
        return self._shown_groups[min(table.cursor_row, len(self._shown_groups) - 1)]

    def _show_parts(self, group: GroupLag | None) -> None:
        rows = {}
        if group is not None:
            rows = {
                f"{p.topic}[{p.partition}]": _pick(part_cells(p), PART_COLUMNS, self.part_layout)
                for p in group.partitions
            }
        table = self.query_one("#lag-partitions", VimTable)
        self._shown_parts = sync_rows(table, self._shown_parts, rows)

    def _show_status(self, groups: list[GroupLag]) -> None:
        report = self.report
        assert report is not None
        bad = sum(1 for g in groups if g.status in (Status.STALLED, Status.STOPPED))
        text = f"{plural(len(groups), 'group')}, {bad} stalled or stopped. "
        text += f"Sorted by {self.sort} (s)."
        text += " Time lag: est = estimated, extrap = extrapolated; x reads the exact one."
        if self.hidden_columns:
            text += f" Too narrow for {', '.join(self.hidden_columns)}: widen the terminal."
        selected = {g.group: g for g in groups}.get(self.selected_group or "")
        if selected is not None:
            text += f"\n{selected.group}: {selected.state}, {plural(selected.members, 'member')}"
            if selected.problem:
                text += f" ⚠ {selected.problem}"
            for part in selected.partitions:
                if part.problem:
                    text += f"\n⚠ {part.topic}[{part.partition}]: {part.problem}"
        for problem in report.problems:
            text += f"\n⚠ {problem}"
        if self.trouble:
            taken = time.strftime("%H:%M:%S", time.localtime(report.taken_ms / 1000))
            text = f"⚠ {self.trouble} (figures from {taken})\n" + text
        self.query_one("#lag-status", Static).update(text)

    # -- interaction ---------------------------------------------------------------------

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "lag-groups" and self.report is not None:
            event.stop()
            self.selected_group = self._cursor_group()
            groups = self.shown
            self._show_parts({g.group: g for g in groups}.get(self.selected_group or ""))
            self._show_status(groups)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.data_table.id == "lag-groups":
            self.action_drill()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "lag-filter" and self.report is not None:
            self._refresh_rows()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "lag-filter":
            self.query_one("#lag-groups", VimTable).focus()

    def action_focus_filter(self) -> None:
        self.query_one("#lag-filter", Input).focus()

    def action_cycle_sort(self) -> None:
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        if self.report is not None:
            self._refresh_rows()

    def select_group(self, group: str) -> None:
        """Put the cursor on ``group`` (now, or when a report first shows it)."""
        self._wanted_group = group
        if self.report is not None:
            self._refresh_rows()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """``x`` is offered only where exact time lags can be read (a cluster)."""
        return not (action == "exact" and self.exact_reader is None)

    def action_drill(self) -> None:
        self.query_one("#lag-partitions", VimTable).focus()

    def action_back(self) -> None:
        self.query_one("#lag-groups", VimTable).focus()

    def action_exact(self) -> None:
        group, report = self.selected_group, self.report
        if group is None or report is None:
            return
        if self.exact_reader is None:
            self.notify("Exact time lag reads records from a cluster; not in the demo.")
            return
        self.notify(f"Reading the records at {group}'s committed offsets…")
        reader = self.exact_reader
        threading.Thread(target=self._read_exact, args=(reader, report, group), daemon=True).start()

    def _read_exact(self, reader: ExactReader, report: LagReport, group: str) -> None:
        try:
            times = reader(report, group)
        except Exception as exc:  # shown, never raised into the UI
            self.app.call_from_thread(self.notify, f"exact time lag: {exc}", severity="error")
            return
        committed = {
            (p.topic, p.partition): p.committed
            for g in report.groups
            if g.group == group
            for p in g.partitions
        }
        found = {
            tp: (committed[tp], ts) for tp, ts in times.items() if committed.get(tp) is not None
        }
        with self.exact_lock:
            self.exact_times[group] = found  # type: ignore[assignment]
        self.app.call_from_thread(self._exact_read, group, len(found))

    def _exact_read(self, group: str, count: int) -> None:
        self.notify(f"Exact time lag of {group}: {plural(count, 'partition')} read.")
        if self.polled is not None:
            self.update_report(self.polled)
