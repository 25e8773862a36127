"""The Textual app: wiring only. State lives in feeds and pollers; widgets render it."""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable

from textual import events
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widgets import TabbedContent, TabPane

from evtui.application.backends import KafkaBackend
from evtui.core.cluster import ClusterSnapshot
from evtui.core.decode import set_may_block
from evtui.core.event import Event
from evtui.core.flow import UNREADABLE, FlowModel
from evtui.core.flow_declared import Declared
from evtui.core.ids import shown_id
from evtui.core.idsearch import MIN_PREFIX, Candidates
from evtui.core.ordering import Checker, parse_ref
from evtui.core.positions import BEGINNING, END, Position, parse_position
from evtui.core.traces import TraceIndex
from evtui.core.violations import LiveCheck
from evtui.runtime import PacedCollector
from evtui.tui import retention
from evtui.tui.backend import Backend, Poller
from evtui.tui.screens.detail import DetailScreen
from evtui.tui.screens.trace import TraceScreen, TraceTree
from evtui.tui.widgets.flowpane import FlowPane, FlowTable
from evtui.tui.widgets.footer import Footer
from evtui.tui.widgets.header import HeaderState, StatusHeader
from evtui.tui.widgets.lagpane import LagPane
from evtui.tui.widgets.overview import Overview, VimTable
from evtui.tui.widgets.tail import TailLog
from evtui.tui.widgets.tailpane import TailPane
from evtui.tui.widgets.violations import ViolationsPane

DEFAULT_START = parse_position("-100")
CLUSTER_DOWN = ("reconnecting", "cannot connect", "auth failed")  # the poller's bad states
NARROW_WIDTH = 120  # columns: below, lists stack and tables give up columns by priority
SHORT_HEIGHT = 32  # lines: below, boxes and detail panes take less room
OVERVIEW_ENTER = Binding("enter", "", "Tail the topic; on a group, its lag")


class EvtuiApp(App):
    """``evtui``: the cluster at a glance, a live tail, and every event in depth."""

    CSS_PATH = "evtui.tcss"
    TITLE = "evtui"
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("ctrl+c", "quit", "Quit", show=False),  # what a terminal tool does on Ctrl-C
        Binding("question_mark", "help", "Help"),
        Binding("1", "show_tab('overview')", "Overview"),
        Binding("2", "show_tab('tail')", "Tail"),
        Binding("3", "show_tab('lag')", "Lag"),
        Binding("4", "show_tab('violations')", "Violations"),
        Binding("5", "show_tab('flow')", "Flow"),
        Binding("ctrl+t", "trace_prompt", "Trace id"),
        Binding("ctrl+p", "command_palette", "Commands", show=False),
    ]

    def __init__(
        self,
        backend: Backend,
        *,
        topics: list[str] | None = None,
        start: Position = DEFAULT_START,
        capacity: int = 200_000,
        filter_expression: str | None = None,
        tick_s: float = 0.05,
        declared: Declared | None = None,
    ) -> None:
        super().__init__()
        retention.install()  # removed widgets' rendered lines are let go (see the module)
        self.backend = backend
        self.initial_topics = topics or []
        self.initial_start = start
        self.capacity = capacity
        self.filter_expression = filter_expression
        self.tick_s = tick_s
        self.poller: Poller | None = None
        self.lag_poller: Poller | None = None  # started with the app: the overview shows lag
        self._lag_shown = False  # the lag tab has been shown (it takes reports from then on)
        self.snapshot: ClusterSnapshot | None = None
        self.header_state = HeaderState(cluster=backend.name)
        self._tail_pane: TailPane | None = None
        self._collector = PacedCollector()
        self.traces = TraceIndex(max_events=capacity)
        # the ordering checks over what the tail reads: ids remembered as long as events are
        self.violations = LiveCheck(
            lambda mid_stream, compacted: Checker(
                mid_stream=mid_stream, compacted=compacted,
                max_keys=min(100_000, capacity), max_events=capacity,
            )
        )  # fmt: skip
        self.flow = FlowModel()  # services -> topics -> groups, from what the tail reads
        self.declared = declared  # the declared flow the flow tab compares with
        self._flow_report: object = None  # the lag report the flow's groups come from
        self._flow_board_version: tuple | None = None  # the problems the flow's topics show

    def compose(self) -> ComposeResult:
        yield StatusHeader(id="header", markup=False)
        with TabbedContent(initial="overview" if not self.initial_topics else "tail"):
            with TabPane("1 Overview", id="overview"):
                yield Overview(id="overview-pane")
            with TabPane("2 Tail", id="tail"):
                yield TailPane(self.backend.open_tail, self.capacity, id="tail-pane")
            with TabPane("3 Lag", id="lag"):
                yield LagPane(getattr(self.backend, "read_exact", None), id="lag-pane")
            with TabPane("4 Violations", id="violations"):
                yield ViolationsPane(id="violations-pane")
            with TabPane("5 Flow", id="flow"):
                yield FlowPane(id="flow-pane")
        yield Footer()

    @property
    def tail(self) -> TailPane:
        if self._tail_pane is None:
            self._tail_pane = self.query_one(TailPane)
        return self._tail_pane

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key | events.MouseDown | events.MouseScrollUp):
            self._collector.input_seen()
        await super().on_event(event)

    def on_resize(self, event: events.Resize) -> None:
        self._size_classes()

    def _size_classes(self) -> None:
        """Narrow and short terminals get layouts by priority (see evtui.tcss)."""
        width, height = self.size
        self.set_class(width < NARROW_WIDTH, "-narrow")
        self.set_class(height < SHORT_HEIGHT, "-short")

    def on_mount(self) -> None:
        set_may_block(False)  # decoders must not fetch on the UI's thread (sources prepare)
        self._size_classes()
        self.tail.trace_index = self.traces
        self.tail.live_check = self.violations
        self.tail.flow_model = self.flow
        self.tail.can_replay = self.can_replay
        self._collector.start()
        self.poller = self.backend.make_poller()
        self.poller.start()
        self._start_lag()  # the overview's groups show lag and status from the start
        if self.filter_expression:
            self.tail.set_filter(self.filter_expression)
        if self.initial_topics:
            self.tail.open(self.initial_topics, self.initial_start)
            self.query_one(TailLog).focus()
        else:
            self.query_one("#topics", VimTable).focus()
        self.set_interval(self.tick_s, self._tick)
        # garbage collection half a tick later: a key or a paint due in between runs
        # between the two instead of waiting for both (each is its own pause)
        self.set_timer(self.tick_s / 2, self._start_collecting)
        self.set_interval(0.5, self._slow_tick)
        self._slow_tick()

    def _start_collecting(self) -> None:
        self.set_interval(self.tick_s, self._collect)

    def on_unmount(self) -> None:
        set_may_block(True)
        self._collector.stop()
        if self._tail_pane is not None:
            self._tail_pane.stop()
        if self.poller is not None:
            self.poller.stop()
        if self.lag_poller is not None:
            self.lag_poller.stop()
        self.backend.close()

    # -- timers -------------------------------------------------------------------------

    def _tick(self) -> None:
        if not self.is_running or not self.tail.is_attached:
            return  # a timer can still fire while the app takes its screens down
        self.tail.tick()

    def _collect(self) -> None:
        if self.is_running:
            self._collector.tick()

    def _slow_tick(self) -> None:
        poller = self.poller
        if poller is None or not self.is_running or not self.tail.is_attached:
            return
        snapshot = poller.latest()
        if snapshot is not None and snapshot is not self.snapshot:
            self.snapshot = snapshot  # type: ignore[assignment]
            self.flow.produce_rates({t.name: t.rate for t in self.snapshot.topics})
            for overview in self.query(Overview):  # none while the app is closing
                overview.update_snapshot(self.snapshot)
        for problem in poller.problems():
            self.notify(problem, severity="warning", timeout=6)
        if self.lag_poller is not None:
            self._lag_tick(self.lag_poller)
        self._violations_tick()
        self._flow_tick()
        self._update_header()

    def _violations_tick(self) -> None:
        """Rows are built while the tab is shown (the header counts all the time)."""
        for tabs in self.query(TabbedContent):  # none while the app is closing
            if tabs.active == "violations":
                self.query_one(ViolationsPane).update_check(
                    self.violations, self.tail.feed is not None
                )

    def _flow_tick(self) -> None:
        """The flow screen, redrawn at most twice a second while it is shown."""
        for tabs in self.query(TabbedContent):  # none while the app is closing
            if tabs.active == "flow":
                self._flow_problems()
                self.query_one(FlowPane).update_flow(self.flow, self._flow_notes(), self.declared)

    def _flow_problems(self) -> None:
        """The ordering violations found on each topic and its records that could not be
        read (a value that does not decode, ids not read), for its node (when changed)."""
        board, feed = self.violations.board, self.tail.feed
        unreadable = [self.violations.problems]
        if feed is not None:
            unreadable.append(feed.record_problems)  # (a record is reported to one of them)
        version = (board.version, *((id(u), u.count) for u in unreadable))
        if version == self._flow_board_version:
            return
        self._flow_board_version = version
        by_topic: dict[str, dict[str, int]] = {}
        for group in board.groups.values():
            if group.severity == "warning":
                counts = by_topic.setdefault(group.topic, {})
                counts[group.kind] = counts.get(group.kind, 0) + group.count
        for problems in unreadable:
            for topic, count in dict(problems.by_topic).items():
                counts = by_topic.setdefault(topic, {})
                counts[UNREADABLE] = counts.get(UNREADABLE, 0) + count
        self.flow.set_problems(by_topic)

    def _flow_notes(self) -> list[str]:
        notes = []
        feed = self.tail.feed
        if feed is not None and feed.stats.not_flowed:
            notes.append(f"{feed.stats.not_flowed:,} events not counted (the tail fell behind)")
        if self.flow.evicted:
            notes.append(f"{self.flow.evicted:,} edges forgotten at the memory bound")
        return notes

    def _lag_tick(self, poller: Poller) -> None:
        report = poller.latest()
        if report is not None and report is not self._flow_report:
            self._flow_report = report
            self.flow.groups(report)  # type: ignore[arg-type]
        trouble = poller.last_error  # a failed poll: the last good report stays, marked stale
        for pane in self.query(LagPane) if self._lag_shown else ():  # its first report:
            if report is not pane.polled or trouble != pane.trouble:  # the latest when shown
                pane.trouble = trouble
                pane.update_report(report)  # type: ignore[arg-type]
        for overview in self.query(Overview):
            if report is not overview.lag_report:
                overview.update_lag(report)  # type: ignore[arg-type]
        for problem in poller.problems():
            if problem != trouble:  # the failure itself is on the lag screen
                self.notify(problem, severity="warning", timeout=6)

    def _update_header(self) -> None:
        state = self.header_state
        snapshot = self.snapshot
        if snapshot is not None:  # the brokers answering: none known while the cluster is not
            down = str(getattr(self.poller, "state", "")) in CLUSTER_DOWN
            state.cluster_id = snapshot.cluster_id
            state.brokers = None if down else snapshot.brokers
        state.connection = self._connection()
        state.violations = self.violations.board.warnings
        feed = self.tail.feed
        if feed is not None:
            state.rate = feed.rate
            state.kept = feed.store.stats.kept
            state.evicted = feed.store.stats.evicted
            state.sampled_out = feed.stats.sampled_out
            state.paused = feed.paused
        else:
            state.rate, state.kept, state.evicted, state.sampled_out = 0.0, 0, 0, 0
            state.paused = False
        for header in self.query(StatusHeader):  # none while the app is closing
            header.show(state)

    def _connection(self) -> str:
        """The worse of the cluster poller's and the tail's connection state; until the
        cluster first answered, ``cannot connect: <reason>`` (never "reconnecting")."""
        poller_state = str(getattr(self.poller, "state", "connecting"))
        if poller_state == "cannot connect":
            reason = getattr(self.poller, "last_error", None)
            return f"cannot connect: {reason}" if reason else poller_state
        tail_state = self.tail.source_state
        tail_text = tail_state.value if tail_state is not None else None
        for worst in ("auth failed", "reconnecting", "failed"):
            if worst in (poller_state, tail_text):
                return worst
        return poller_state

    # -- actions ------------------------------------------------------------------------

    def action_show_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        if tab == "tail":
            self.query_one(TailLog).focus()
        elif tab == "lag":
            self._start_lag()
            self._lag_shown = True
            self.query_one("#lag-groups", VimTable).focus()
        elif tab == "violations":
            # the rows after the tab is painted: two pauses, not one (a key between them)
            self.call_after_refresh(self._violations_tick)
            self.query_one("#violations-groups", VimTable).focus()
        elif tab == "flow":
            self.call_after_refresh(self._flow_tick)
            self.query_one(FlowTable).focus()
        else:
            self.query_one("#topics", VimTable).focus()

    def _start_lag(self) -> None:
        if self.lag_poller is None:
            self.lag_poller = self.backend.make_lag_poller()
            self.lag_poller.start()

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id == "lag":  # a click on the tab, not only the key
            self._start_lag()
            self._lag_shown = True

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """A notification in plain text, whoever asks (a widget's ``notify`` asks for markup):
        evtui's messages quote data (group names, keys, errors), never markup; read as
        markup, ``[/]`` in a group name stopped the console."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    def action_help(self) -> None:
        from evtui.tui.screens.help import HelpScreen

        if not self.is_screen_installed("help"):  # composed once: the same every time
            self.install_screen(HelpScreen(self.binding_sections()), name="help")
        self.push_screen("help")

    def binding_sections(self) -> list[tuple[str, list]]:
        return [
            ("everywhere", self.BINDINGS),
            ("overview", [*Overview.BINDINGS, OVERVIEW_ENTER, *VimTable.BINDINGS]),
            ("tail", [*TailPane.BINDINGS, *TailLog.BINDINGS]),
            ("lag", [*LagPane.BINDINGS, *VimTable.BINDINGS]),
            ("violations", [*ViolationsPane.BINDINGS, *VimTable.BINDINGS]),
            ("flow", [*FlowPane.BINDINGS, *FlowTable.BINDINGS, *VimTable.BINDINGS]),
            ("event detail", DetailScreen.BINDINGS),
            ("trace", [*TraceScreen.BINDINGS, *TraceTree.BINDINGS]),
        ]

    def action_trace_prompt(self) -> None:
        from evtui.tui.screens.prompt import PromptScreen

        recent = ", ".join(shown_id(i) for i in self.traces.ids("", limit=3))
        hint = "a correlation, trace or event id among the events kept, or its first 8+ characters"
        self.push_screen(
            PromptScreen("Trace", hint + (f" (recent: {recent})" if recent else "")),
            lambda value: self.show_trace(value.strip()) if value and value.strip() else None,
        )

    def show_trace(self, wanted: str) -> None:
        """The trace screen for ``wanted``, from the events the console keeps."""
        from evtui.core.traces import build_trace
        from evtui.tui.screens.trace import TraceScreen

        found = self.traces.search(wanted)
        if not found.events:
            self.notify(self._not_found(wanted, found.candidates), severity="warning", timeout=10)
            return
        feed = self.tail.feed
        skipped = feed.stats.not_indexed if feed is not None else 0
        unreadable = feed.record_problems.count if feed is not None else 0
        trace = build_trace(found.wanted, found.events)
        self.push_screen(
            TraceScreen(trace, self.traces, skipped, self.backend.cluster_hints, unreadable)
        )

    def _not_found(self, wanted: str, candidates: Candidates) -> str:
        """Why ``wanted`` shows no trace; the cluster command only where there is a cluster."""
        if len(candidates):
            return candidates.describe(wanted)
        text = f"No kept event carries '{wanted}'."
        if len(wanted) < MIN_PREFIX:
            text += f" (An id shorter than {MIN_PREFIX} characters is matched whole.)"
        if self.backend.cluster_hints:
            text += f" To search the cluster: evtui trace {shlex.quote(wanted)}"
        return text

    def on_overview_tail_requested(self, message: Overview.TailRequested) -> None:
        self.tail.open(message.topics, self.tail.start or self.initial_start)
        self.action_show_tab("tail")

    def on_overview_lag_requested(self, message: Overview.LagRequested) -> None:
        self.action_show_tab("lag")
        self.query_one(LagPane).select_group(message.group)

    def on_flow_pane_tail_requested(self, message: FlowPane.TailRequested) -> None:
        self.tail.open([message.topic], self.tail.start or self.initial_start)
        self.action_show_tab("tail")

    def on_flow_pane_lag_requested(self, message: FlowPane.LagRequested) -> None:
        self.action_show_tab("lag")
        self.query_one(LagPane).select_group(message.group)

    def on_flow_pane_filter_requested(self, message: FlowPane.FilterRequested) -> None:
        if self.tail.set_filter(message.expression):
            self.action_show_tab("tail")
            self.notify(f"The kept events of {message.what}. Escape clears the filter.")

    def on_tail_log_selected(self, message: TailLog.Selected) -> None:
        self.push_screen(DetailScreen(message.event))

    @property
    def can_replay(self) -> bool:
        """Only a cluster can be written to (not the demo, not a recording)."""
        backend = self.backend
        return getattr(backend, "plan_replay", None) is not None and (
            getattr(backend, "run_replay", None) is not None
        )

    def on_tail_pane_replay_requested(self, message: TailPane.ReplayRequested) -> None:
        from evtui.tui.screens.replay import ReplayScreen

        if not self.can_replay:
            self.notify("Replay writes to a cluster: not from here (use evtui replay).",
                        severity="warning")  # fmt: skip
            return
        backend: KafkaBackend = self.backend  # type: ignore[assignment]
        self.push_screen(ReplayScreen(message.selection, backend.plan_replay, backend.run_replay))

    def on_violations_pane_jump(self, message: ViolationsPane.Jump) -> None:
        """From a finding: an event, its trace, or its key's history in the tail."""
        event = self.kept_event(message.ref)
        if message.what == "key":
            self._key_history(message.finding.topic, message.finding.key, event)
            return
        if event is None:
            topic, partition, offset = parse_ref(message.ref)
            text = f"{message.ref} is no longer kept by the tail."
            if self.backend.cluster_hints:
                text += (
                    f" To read it: evtui tail {topic} --from {offset}"
                    f" -f 'partition == {partition}' -n 1"
                )
            self.notify(text, severity="warning", timeout=10)
        elif message.what == "event":
            self.push_screen(DetailScreen(event))
        else:
            ids = event.ids
            wanted = ids.correlation_id or ids.trace_id or ids.event_id
            if wanted is None:
                self.notify(f"{message.ref} carries no id to trace.", severity="warning")
            else:
                self.show_trace(wanted)

    def kept_event(self, ref: str) -> Event | None:
        """The event at ``topic/partition/offset`` if the tail still keeps it (newest first)."""
        feed = self.tail.feed
        if feed is None:
            return None
        topic, partition, offset = parse_ref(ref)
        store = feed.store
        for seq in range(store.next - 1, store.first - 1, -1):
            event = store[seq]
            if event.offset == offset and event.partition == partition and event.topic == topic:
                return event
        return None

    def _key_history(self, topic: str, key: str | None, event: Event | None) -> None:
        raw = event.key if event is not None else None
        if key is None:
            literal = "null"
        elif raw is not None and not _is_utf8(raw):
            literal = 'b"' + "".join(f"\\x{b:02x}" for b in raw) + '"'
        else:
            literal = json.dumps(key, ensure_ascii=False)
        if self.tail.set_filter(f"topic == {json.dumps(topic)} && key == {literal}"):
            self.action_show_tab("tail")
            self.notify(f"The kept events of key {key} on {topic}. Escape clears the filter.")

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        tail = self.tail
        commands = [
            ("Overview", "Topics and consumer groups", lambda: self.action_show_tab("overview")),
            ("Tail", "The live tail", lambda: self.action_show_tab("tail")),
            ("Lag", "Consumer lag and health", lambda: self.action_show_tab("lag")),
            (
                "Violations",
                "Ordering violations in the tail's stream",
                lambda: self.action_show_tab("violations"),
            ),
            ("Flow", "Services, topics and consumer groups", lambda: self.action_show_tab("flow")),
            ("Tail topics…", "Choose topics (names or ^regex)", tail.action_choose_topics),
            ("Seek…", "Seek the tail to a position or time", tail.action_seek),
            ("Seek to beginning", "Read the topics from the start", lambda: tail.seek(BEGINNING)),
            ("Seek to end", "Only new events from now on", lambda: tail.seek(END)),
            ("Search", "Quick text search in the tail", tail.action_search),
            ("Filter…", "A CEL expression over each event", tail.action_filter),
            ("Clear filters", "Show every event again", tail.action_clear_filters),
            ("Pause / resume", "Stop or resume reading", tail.action_toggle_pause),
            ("Follow", "Jump to the newest event and follow", tail.action_follow),
            ("Event detail", "Open the selected event", self.query_one(TailLog).action_select),
            ("Show / hide internal topics", "In the overview", self._toggle_internal),
            ("Trace an id…", "The causal graph of a transaction", self.action_trace_prompt),
            ("Trace the selected event", "Its causal graph", tail.action_trace_selected),
            ("Help", "Every key binding", self.action_help),
        ]
        if self.can_replay:  # where nothing can be written, neither is offered
            commands += [
                ("Mark a range", "The selected event starts or ends a range", tail.action_mark),
                ("Replay…", "The marked range, or the tail's topic and filter", tail.action_replay),
            ]
        for title, help_text, callback in commands:
            yield SystemCommand(title, help_text, callback)

    def _toggle_internal(self) -> None:
        self.query_one(Overview).action_toggle_internal()


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
