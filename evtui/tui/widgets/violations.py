"""Ordering violations: groups by kind, topic and key above; the selected group's findings below.

Renders the :class:`~evtui.core.violations.LiveCheck` the tail feeds (the app
refreshes it on a timer, only when its board changed). From a finding, ``e``
opens the event it is about, ``o`` the other event it names (the cause, the
first delivery, the record it was swapped with), ``t`` its trace and ``h`` the
key's history in the tail; the app carries these out.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Input, Static

from evtui.core.ordering import WARNING, Finding
from evtui.core.positions import format_ms
from evtui.core.text import one_line, plural, visible
from evtui.core.violations import LiveCheck, ViolationGroup
from evtui.tui.spans import Piece, joined
from evtui.tui.widgets.columns import Column, set_columns, shown_cells
from evtui.tui.widgets.overview import VimTable, sync_rows

GROUP_COLUMNS = (
    Column("severity", "SEVERITY", 8, 8, 1),
    Column("kind", "KIND", 22, 14, 0),
    Column("topic", "TOPIC", 24, 10, 2),
    Column("key", "KEY", 22, 10, 3),
    Column("count", "COUNT", 7, 6, 1),
    Column("first", "FIRST SEEN", 12, 12, 5),
    Column("last", "LAST SEEN", 12, 12, 4),
)
FINDING_COLUMNS = (
    Column("at", "EVENT", 26, 18, 0),
    Column("expected", "EXPECTED", 60, 20, 1),
    Column("seen", "SEEN", 48, 20, 2),
)
SEVERITY_STYLES = {WARNING: "bold yellow", "info": "dim"}
# The groups table shows the first this many (warnings first) and says how many more there
# are: a board at its bound holds 5,000, and rebuilding a table of them every half second
# stalled the console for 0.6-1.3 s (bench/soak). At 500 rows, opening the tab still
# stalled it for 140-210 ms (the table measures every cell of the rows it is given).
# The filter reaches all of them.
MAX_GROUP_ROWS = 200


def _clock(ms: int) -> str:
    return format_ms(ms)[11:23] if ms else "-"


def group_cells(group: ViolationGroup) -> tuple[str | Text, ...]:
    return (
        Text(group.severity, style=SEVERITY_STYLES.get(group.severity, "")),
        group.kind,
        group.topic,
        "∅" if group.key is None else one_line(group.key),
        Text(f"{group.count:,}", justify="right"),
        _clock(group.first_ms),
        _clock(group.last_ms),
    )


def finding_cells(finding: Finding) -> tuple[str, ...]:
    return (
        f"{finding.topic}[{finding.partition}]@{finding.offset}",
        visible(finding.expected),
        visible(finding.seen),
    )


def finding_ident(finding: Finding) -> str:
    return "\x1f".join(finding.refs) + f"\x1f{finding.kind}"


def explain(finding: Finding) -> Text:
    where = f"{finding.topic}[{finding.partition}]@{finding.offset}"
    text = joined(
        [(finding.kind, SEVERITY_STYLES.get(finding.severity, "")), where,
         f"key {None if finding.key is None else one_line(finding.key)}"]
    )  # fmt: skip
    text.append(f"\nexpected {visible(finding.expected)}; seen {visible(finding.seen)}\n")
    text.append(visible(finding.explanation) + "\n", style="italic")
    here = f"{finding.topic}/{finding.partition}/{finding.offset}"
    others = [r for r in finding.refs if r != here]
    keys = [
        f"e: this event ({here})",
        f"o: the other event ({others[0]})" if others else None,
        "t: its trace",
        "h: the key's history",
    ]
    text.append_text(joined(((k, "bold") if k else None for k in keys), sep=" │ "))
    return text


def summary_text(
    checked: int,
    warnings: int,
    infos: int,
    notes: list[str] | None = None,
    tail_open: bool = True,
) -> Text:
    """What was checked and found, then what could not be (in yellow)."""
    pieces: list[Piece] = [
        None if tail_open else ("Nothing checked yet: open topics in the tail (2, then t).",
                                "yellow"),
        (f"{plural(checked, 'event')} checked", "bold"),
        (plural(warnings, "warning"), "bold yellow" if warnings else ""),
        f"{infos:,} info",
        *((note, "yellow") for note in notes or []),
    ]  # fmt: skip
    return joined(pieces)


class ViolationsPane(Vertical):
    """What the ordering checks found in the stream the tail reads."""

    BINDINGS = [
        Binding("slash", "focus_filter", "Filter"),
        Binding("e", "open_event", "Event"),
        Binding("o", "open_other", "Other event"),
        Binding("t", "trace", "Trace"),
        Binding("h", "key_history", "Key history"),
        Binding("enter", "drill", "Findings", show=False),
        Binding("escape", "back", "Groups", show=False),
    ]

    class Jump(Message):
        """Open an event (``what`` = "event"), its trace ("trace") or its key's history ("key")."""

        def __init__(self, what: str, ref: str, finding: Finding) -> None:
            super().__init__()
            self.what, self.ref, self.finding = what, ref, finding

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.live: LiveCheck | None = None
        self.shown_version = -1
        self._shown_groups: list[str] = []
        self._shown_findings: list[str] = []
        self._groups: dict[str, ViolationGroup] = {}
        self._findings: dict[str, Finding] = {}
        self.selected_group: str | None = None
        self.groups_not_shown = 0  # matching groups beyond MAX_GROUP_ROWS
        self._tail_open = True

    def compose(self) -> ComposeResult:
        yield Static("Checking the events the tail reads…", id="violations-status", markup=False)
        yield Input(placeholder="/ filter by kind, topic or key", id="violations-filter")
        yield VimTable(id="violations-groups", cursor_type="row", zebra_stripes=True)
        yield VimTable(id="violations-findings", cursor_type="row", zebra_stripes=True)
        yield Static("", id="violations-detail", markup=False)

    def on_mount(self) -> None:
        self._fit_tables()

    def on_resize(self) -> None:
        self._fit_tables()

    def _fit_tables(self) -> None:
        """Each table's columns by priority for the width there is (a narrow terminal)."""
        width = self.size.width or self.app.size.width
        changed = False
        if set_columns(self.query_one("#violations-groups", VimTable), GROUP_COLUMNS, width):
            self._shown_groups = []
            changed = True
        if set_columns(self.query_one("#violations-findings", VimTable), FINDING_COLUMNS, width):
            self._shown_findings = []
            changed = True
        if changed:  # the same columns show the same rows (the tab shown again: a resize)
            self._refresh_rows()

    # -- state in ------------------------------------------------------------------------

    def update_check(self, live: LiveCheck, tail_open: bool) -> None:
        """Called on a timer: the rows change only when the board did."""
        if not self.query("#violations-filter"):
            return  # closing
        self.live = live
        self._tail_open = tail_open
        if live.board.version != self.shown_version:
            self.shown_version = live.board.version
            self._refresh_rows()
        self._show_status(live, tail_open)

    def _show_status(self, live: LiveCheck, tail_open: bool) -> None:
        board = live.board
        notes: list[str] = []
        if live.not_checked:
            notes.append(
                f"{live.not_checked:,} not checked (the tail dropped or skipped them; the "
                f"checks started again after each of {live.restarts:,} holes)"
            )
        if live.outside:
            notes.append(
                f"{live.outside:,} effects not judged as orphans: no cause of their kind is "
                "in the topics read (theirs are likely on another topic)"
            )
        if live.unjudged > live.outside:
            notes.append(
                f"{live.unjudged - live.outside:,} effects not judged as orphans (their causes "
                "may lie before the start, be compacted away or forgotten at the memory bound)"
            )
        if self.groups_not_shown:
            shown = len(self._shown_groups)
            notes.append(
                f"showing the first {shown:,} of {shown + self.groups_not_shown:,} groups "
                "(warnings first): / filters them"
            )
        notes += live.notes() + live.problems.lines("checked")[:1]
        text = summary_text(live.checked, board.warnings, board.infos, notes, tail_open)
        self.query_one("#violations-status", Static).update(text)

    def _refresh_rows(self) -> None:
        if self.live is None:
            return
        needle = self.query_one("#violations-filter", Input).value.strip()
        groups = self.live.board.sorted_groups(needle)
        self.groups_not_shown = max(0, len(groups) - MAX_GROUP_ROWS)
        groups = groups[:MAX_GROUP_ROWS]
        self._groups = {g.ident: g for g in groups}
        table = self.query_one("#violations-groups", VimTable)
        self._shown_groups = sync_rows(
            table,
            self._shown_groups,
            {g.ident: shown_cells(table, GROUP_COLUMNS, group_cells(g)) for g in groups},
        )
        if self.selected_group not in self._groups:
            self.selected_group = self._cursor(table, self._shown_groups)
        self._show_findings()

    @staticmethod
    def _cursor(table: DataTable, shown: list[str]) -> str | None:
        return shown[min(table.cursor_row, len(shown) - 1)] if shown else None

    def _show_findings(self) -> None:
        group = self._groups.get(self.selected_group or "")
        findings = list(group.findings) if group is not None else []
        self._findings = {finding_ident(f): f for f in findings}
        table = self.query_one("#violations-findings", VimTable)
        rows = {
            finding_ident(f): shown_cells(table, FINDING_COLUMNS, finding_cells(f))
            for f in findings
        }
        self._shown_findings = sync_rows(table, self._shown_findings, rows)
        self._show_detail()

    def _show_detail(self) -> None:
        finding = self.selected_finding
        detail = self.query_one("#violations-detail", Static)
        if finding is None:
            detail.update(self._nothing_shown() if not self._groups else "")
            return
        group = self._groups.get(self.selected_group or "")
        text = explain(finding)
        if group is not None and group.count > len(group.findings):
            text.append(f"\n(the newest {len(group.findings)} of {group.count:,} are kept)")
        detail.update(text)

    def _nothing_shown(self) -> str:
        """Why no group is shown: none found, or the filter hides them (say how many)."""
        needle = self.query_one("#violations-filter", Input).value.strip()
        hidden = list(self.live.board.groups.values()) if self.live is not None else []
        if not needle or not hidden:
            return "No violation found."
        findings = sum(g.count for g in hidden)
        return (
            f"No violation matches the filter '{needle}': it hides {len(hidden):,} "
            f"{'group' if len(hidden) == 1 else 'groups'} of {findings:,} "
            f"{'finding' if findings == 1 else 'findings'} (clear it with / to see them)."
        )

    @property
    def selected_finding(self) -> Finding | None:
        table = self.query_one("#violations-findings", VimTable)
        ident = self._cursor(table, self._shown_findings)
        return self._findings.get(ident or "")

    # -- interaction ---------------------------------------------------------------------

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        if event.data_table.id == "violations-groups":
            self.selected_group = self._cursor(event.data_table, self._shown_groups)
            self._show_findings()
        elif event.data_table.id == "violations-findings":
            self._show_detail()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.data_table.id == "violations-groups":
            self.action_drill()
        else:
            self.action_open_event()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "violations-filter":
            self._refresh_rows()
            if self.live is not None:
                self._show_status(self.live, self._tail_open)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "violations-filter":
            self.query_one("#violations-groups", VimTable).focus()

    def action_focus_filter(self) -> None:
        self.query_one("#violations-filter", Input).focus()

    def action_drill(self) -> None:
        self.query_one("#violations-findings", VimTable).focus()

    def action_back(self) -> None:
        self.query_one("#violations-groups", VimTable).focus()

    def _jump(self, what: str, other: bool = False) -> None:
        finding = self.selected_finding
        if finding is None:
            self.notify("Choose a finding first (Enter on a group).", severity="warning")
            return
        here = f"{finding.topic}/{finding.partition}/{finding.offset}"
        target = here
        if other:
            others = [r for r in finding.refs if r != here]
            if not others:
                self.notify("This finding names no other event.", severity="warning")
                return
            target = others[0]
        self.post_message(self.Jump(what, target, finding))

    def action_open_event(self) -> None:
        self._jump("event")

    def action_open_other(self) -> None:
        self._jump("event", other=True)

    def action_trace(self) -> None:
        self._jump("trace")

    def action_key_history(self) -> None:
        self._jump("key")
