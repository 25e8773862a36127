"""The flow tab: services -> topics -> consumer groups -> downstream topics, in lanes.

Renders :class:`~evtui.core.flow.FlowModel` snapshots laid out by
:mod:`evtui.core.flow_lanes`. The app calls :meth:`FlowPane.update_flow` at most twice a
second while the tab is shown; the rows are rebuilt only when the structure changed
(new lanes), otherwise only the figures in the cells change. Arrow keys or hjkl move
between nodes; Enter on a topic tails it, on a group opens its lag, on a producer
filters the tail to its events, on an edge shows its evidence and sample events.
"""

from __future__ import annotations

import json

import networkx as nx
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Input, Static

from evtui.core.flow import FlowModel
from evtui.core.flow_declared import Declared, drift
from evtui.core.flow_lanes import COLUMNS, NO_MARKS, Cell, Marks, describe, layout, parse_edge
from evtui.core.flow_render import shown, summary
from evtui.core.positions import format_ms
from evtui.core.schemas import SchemaTimeline
from evtui.core.text import plural
from evtui.tui.widgets.columns import Column, set_columns, shown_cells
from evtui.tui.widgets.overview import VimTable, sync_rows
from evtui.tui.widgets.status import StatusLine

FLOW_COLUMNS = (
    Column("producer", "PRODUCER", 22, 10, 1),
    Column("to_topic", "", 3, 3, 3),
    Column("topic", "TOPIC", 24, 12, 0),
    Column("rate", "RATE", 10, 8, 6),
    Column("to_group", "", 3, 3, 4),
    Column("group", "CONSUMER GROUP", 26, 12, 2),
    Column("lag", "LAG", 18, 8, 5),
    Column("hop", "CAUSES EVENTS ON", 40, 14, 7),
)
assert tuple(c.key for c in FLOW_COLUMNS) == COLUMNS
STYLES = {
    "service": "bold cyan",
    "unknown": "italic yellow",
    "topic": "bold",
    "group": "magenta",
    "ok": "green",
    "warn": "bold yellow",
    "bad": "bold red",
    "idle": "dim",
    "hop": "blue",
    "dim": "dim",
}


class FlowTable(VimTable):
    """Cells are nodes and edges: hjkl and the arrows move between them."""

    BINDINGS = [
        Binding("h", "cursor_left", "Left", show=False),
        Binding("l", "cursor_right", "Right", show=False),
        Binding("enter", "select_cursor", "Open"),
    ]


class FlowPane(Vertical):
    """The live flow graph of what the tail reads, plus the cluster's consumer groups."""

    BINDINGS = [Binding("slash", "focus_filter", "Filter"), Binding("escape", "clear", "Clear")]

    class TailRequested(Message):
        def __init__(self, topic: str) -> None:
            super().__init__()
            self.topic = topic

    class LagRequested(Message):
        def __init__(self, group: str) -> None:
            super().__init__()
            self.group = group

    class FilterRequested(Message):
        """Filter the tail with this CEL expression (a producer's events)."""

        def __init__(self, expression: str, what: str) -> None:
            super().__init__()
            self.expression, self.what = expression, what

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.graph: nx.DiGraph = nx.DiGraph()
        self.shown_version: tuple[int, str, int] | None = None
        self._shown: list[str] = []
        self._rows: dict[str, tuple[Cell, ...]] = {}
        self._first_version: int | None = None  # the flow's structure when first shown
        self.marks: Marks = NO_MARKS  # differences from a declared flow
        self.schemas: SchemaTimeline | None = None  # the topics' registry schemas

    def compose(self) -> ComposeResult:
        yield StatusLine("The flow of the events the tail reads…", id="flow-status")
        yield Input(placeholder="/ find a topic, service or group", id="flow-filter")
        yield FlowTable(id="flow-table", cursor_type="cell", zebra_stripes=False)
        yield Static("", id="flow-detail", markup=False)

    def on_mount(self) -> None:
        self._fit()

    def on_resize(self) -> None:
        self._fit()

    def _fit(self) -> None:
        width = self.size.width or self.app.size.width
        if set_columns(self.table, FLOW_COLUMNS, width):
            self._shown = []
            self._show_rows()

    @property
    def table(self) -> FlowTable:
        return self.query_one("#flow-table", FlowTable)

    # -- state in --------------------------------------------------------------------------

    def update_flow(
        self, flow: FlowModel, notes: list[str] | None = None, declared: Declared | None = None
    ) -> None:
        """Called on a timer while the tab is shown (at most 2 Hz). ``declared``: a declared
        flow, compared with (its differences marked in the lanes)."""
        if not self.query("#flow-filter"):
            return  # closing
        self.graph = flow.snapshot()
        self.schemas = flow.schemas
        status = Text(f"flow: {summary(self.graph)}", style="bold")
        self.marks = NO_MARKS
        if declared is not None:
            findings = drift(self.graph, declared)
            self.marks = Marks.of(findings)
            differences = sum(1 for f in findings if f.differs)
            status.append(" │ ")
            status.append(
                f"{plural(differences, 'difference')} from the declared flow" if differences
                else "as declared", style="bold red" if differences else "green",
            )  # fmt: skip
        if self._first_version is None:
            self._first_version = flow.version
        if flow.version > self._first_version and flow.changes:
            # the newest structure change since the tab was first shown (not the first
            # picture's own making): "new producer on payments: ..."
            at, what = flow.changes[-1]
            status.append(f" │ {format_ms(at)[11:19] if at else ''} {shown(what)}".rstrip())
        for note in notes or []:
            status.append(f" │ {note}", style="yellow")
        if not self.graph.number_of_nodes():
            status = Text("No events yet: open topics in the tail (2, then t).", style="yellow")
        self.query_one("#flow-status", StatusLine).show(status)
        self._show_rows()

    def _show_rows(self) -> None:
        needle = self.query_one("#flow-filter", Input).value.strip()
        rows = dict(layout(self.graph, match=needle, marks=self.marks))
        self._rows = rows
        table = self.table
        self._shown = sync_rows(
            table, self._shown,
            {key: shown_cells(table, FLOW_COLUMNS, tuple(_styled(c) for c in cells))
             for key, cells in rows.items()},
        )  # fmt: skip
        self._show_detail()

    # -- the cursor ------------------------------------------------------------------------

    def cell_at(self, row: int, column: int) -> Cell | None:
        if not (0 <= row < len(self._shown)):
            return None
        cells = self._rows.get(self._shown[row])
        if cells is None:
            return None
        keys = [str(k.value) for k in self.table.columns]
        if not (0 <= column < len(keys)):
            return None
        return cells[COLUMNS.index(keys[column])]

    @property
    def selected(self) -> Cell | None:
        coordinate = self.table.cursor_coordinate
        return self.cell_at(coordinate.row, coordinate.column)

    def on_data_table_cell_highlighted(self, event: DataTable.CellHighlighted) -> None:
        event.stop()
        self._show_detail()

    def _show_detail(self) -> None:
        cell = self.selected
        detail = self.query_one("#flow-detail", Static)
        if cell is None or cell.target is None:
            detail.update("", layout=False)
            return
        lines = describe(self.graph, cell.target)
        if cell.target.startswith("topic:") and self.schemas is not None:
            lines += schema_lines(self.schemas, cell.target[6:], self.size.width or 100)
        detail.update(Text("\n".join(lines)), layout=False)

    def on_data_table_cell_selected(self, event: DataTable.CellSelected) -> None:
        event.stop()
        cell = self.cell_at(event.coordinate.row, event.coordinate.column)
        if cell is None or cell.target is None:
            return
        self.open(cell.target)

    def open(self, target: str) -> None:
        """Enter on a cell: tail a topic, a group's lag, a producer's events, an edge's
        evidence (in the detail below)."""
        if parse_edge(target) is not None:
            self._show_detail()
            return
        kind, name = target.split(":", 1)
        if kind == "topic":
            self.post_message(self.TailRequested(name))
        elif kind == "group":
            self.post_message(self.LagRequested(name))
        elif kind == "service":
            self.post_message(self.FilterRequested(producer_filter(name), name))
        elif kind == "unknown":
            expression = f"topic == {json.dumps(name)} && service == null && source == null"
            self.post_message(self.FilterRequested(expression, f"unknown producers on {name}"))

    def action_focus_filter(self) -> None:
        self.query_one("#flow-filter", Input).focus()

    def action_clear(self) -> None:
        box = self.query_one("#flow-filter", Input)
        if box.value:
            box.value = ""
        self.table.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._shown = []
        self._show_rows()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.table.focus()


def schema_lines(schemas: SchemaTimeline, topic: str, width: int) -> list[str]:
    """The two schemas a topic was written with last (``evtui schemas`` shows them all)."""
    rows = [row for row in schemas.lines(topic, width - 12) if not row.startswith(" ")]
    return [f"  schema: {row}" for row in rows[-2:]]


def producer_filter(name: str) -> str:
    """The CEL filter for the events a producer wrote, as the flow names producers: its
    ``service``, else its ``source``."""
    literal = json.dumps(name)
    return f"service == {literal} || (service == null && source == {literal})"


def _styled(cell: Cell) -> str | Text:
    if not cell.text:
        return ""
    return Text(cell.text, style=STYLES.get(cell.style, ""), no_wrap=True, overflow="ellipsis")
