"""The tail tab: opens feeds (in a worker), drains them on the app's tick, filters, seeks."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Static

from evtui.core.event import Event, problems_reported_to
from evtui.core.filters import Filter, FilterError
from evtui.core.flow import FlowModel
from evtui.core.positions import Position, describe, parse_position
from evtui.core.replay import Selection, selection_from_marks, selection_from_tail
from evtui.core.tailview import Predicate, all_of, substring_predicate
from evtui.core.text import plural
from evtui.core.traces import TraceIndex
from evtui.core.violations import LiveCheck
from evtui.errors import ConnectionFailed, EvtuiError
from evtui.sources.base import Source, SourceState
from evtui.tui.feed import Feed
from evtui.tui.spans import Piece, fitted
from evtui.tui.widgets.header import number
from evtui.tui.widgets.tail import TailLog

OpenTail = Callable[[list[str], Position], Source]
# Per 50 ms tick; a key waits at most for one tick's work (bench/ui measures it).
DRAIN_BUDGET_S = 0.012
FILTER_BUDGET_S = 0.006
KEYSTROKE_FILTER_BUDGET_S = 0.004  # a search keystroke shows first matches, the tick goes on
INDEX_BUDGET_S = 0.002  # the trace index; faster input is sampled (counted, shown)
CHECK_BUDGET_S = 0.004  # the ordering checks; the same
FLOW_BUDGET_S = 0.003  # the flow model; the same
MAX_RETRY_S = 30.0


class TailPane(Vertical):
    BINDINGS = [
        Binding("space,p", "toggle_pause", "Pause"),
        Binding("f", "follow", "Follow"),
        Binding("s", "seek", "Seek"),
        Binding("t", "choose_topics", "Topics"),
        Binding("slash", "search", "Search"),
        Binding("e", "filter", "Filter"),
        Binding("escape", "clear_filters", "Drop marks, then filters", show=False),
        Binding("T", "trace_selected", "Trace"),
        Binding("m", "mark", "Mark range"),
        Binding("R", "replay", "Replay…"),
    ]

    def __init__(self, open_tail: OpenTail, capacity: int, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.open_tail = open_tail
        self.capacity = capacity
        self.trace_index: TraceIndex | None = None  # set by the app
        self.live_check: LiveCheck | None = None  # set by the app: ordering checks
        self.flow_model: FlowModel | None = None  # set by the app: the flow graph
        self.feed: Feed | None = None
        self.topics: list[str] = []
        self.start: Position | None = None
        self.search_text = ""
        self.filter: Filter | None = None
        self.message: Text | None = None  # the last problem or state to show
        self.filter_error: str | None = None
        self._input_mode = "search"
        self._retry_s = 1.0
        self._opening = False
        self._closed = False
        self._predicate_dirty = False
        self._results: queue.SimpleQueue = queue.SimpleQueue()
        self.marks: list[Event] = []  # the start and end of a range to replay
        self.can_replay = True  # False where nothing can be written (the demo, a recording)
        self.log_view = TailLog(id="tail-log")
        self._status = Static(id="tail-status", markup=False)

    def compose(self) -> ComposeResult:
        # kept as attributes: the app's timers may still tick while children are removed
        yield self.log_view
        yield Input(id="tail-input", classes="hidden")
        yield self._status

    # -- opening and seeking ------------------------------------------------------------

    def open(self, topics: list[str], start: Position) -> None:
        if topics != self.topics:
            self.marks = []  # marks name events of the topics tailed before
        self.topics, self.start = topics, start
        self._opening = True
        self.message = Text(f"opening {', '.join(topics)} from {describe(start)}…", style="yellow")
        self._open_worker(topics, start)

    def _open_worker(self, topics: list[str], start: Position) -> None:
        """Open in a daemon thread; the result is picked up by the next tick.

        Not a Textual worker: opening can block for the whole timeout, and a
        thread that outlives the app must neither hold up its exit nor call into it.
        """
        thread = threading.Thread(
            target=self._open_in_thread, args=(topics, start), name="evtui-open", daemon=True
        )
        thread.start()

    def _open_in_thread(self, topics: list[str], start: Position) -> None:
        try:
            source = self.open_tail(topics, start)
        except ConnectionFailed as exc:
            self._results.put((self._open_failed, (str(exc), True)))
            return
        except EvtuiError as exc:
            self._results.put((self._open_failed, (str(exc), False)))
            return
        except Exception as exc:  # never lose a failure in a thread
            self._results.put((self._open_failed, (f"{type(exc).__name__}: {exc}", False)))
            return
        if self._closed:
            source.stop()
            return
        self._results.put((self._opened, (source, topics, start)))

    def _take_results(self) -> None:
        while True:
            try:
                handler, args = self._results.get_nowait()
            except queue.Empty:
                return
            handler(*args)

    def _opened(self, source: Source, topics: list[str], start: Position) -> None:
        if (topics, start) != (self.topics, self.start):  # superseded by a newer request
            threading.Thread(target=source.stop, daemon=True).start()
            return
        self._stop_feed()
        self.feed = Feed(source, topics, start, capacity=self.capacity, predicate=self._predicate())
        self.log_view.set_feed(self.feed)
        self._opening = False
        self._retry_s = 1.0
        self.message = None

    def _open_failed(self, text: str, retry: bool) -> None:
        self._opening = False
        if not retry:
            self.message = Text(f"✖ {text}", style="bold red")
            self.notify(text, severity="error", timeout=8)
            return
        delay = self._retry_s
        self._retry_s = min(self._retry_s * 2, MAX_RETRY_S)
        self.message = Text(f"✖ {text}; retrying in {delay:.0f}s", style="bold red")
        topics, start = self.topics, self.start
        self.set_timer(delay, lambda: self._retry(topics, start))

    def _retry(self, topics: list[str], start: Position | None) -> None:
        if start is not None and (topics, start) == (self.topics, self.start) and self.feed is None:
            self.open(topics, start)

    def _stop_feed(self) -> None:
        feed, self.feed = self.feed, None
        if feed is not None:
            threading.Thread(target=feed.stop, name="evtui-feed-stop", daemon=True).start()

    def stop(self) -> None:
        self._closed = True
        while not self._results.empty():  # opened after the last tick: close it too
            handler, args = self._results.get_nowait()
            if handler == self._opened:
                args[0].stop()
        if self.feed is not None:
            self.feed.stop()
            self.feed = None

    def seek(self, start: Position) -> None:
        if not self.topics:
            self.notify("Nothing to seek: choose topics first (t).", severity="warning")
            return
        self._stop_feed()
        self.log_view.set_feed(None)
        self.open(self.topics, start)

    # -- the tick -------------------------------------------------------------------------

    def tick(self) -> None:
        self._take_results()
        if self._predicate_dirty:
            self._apply_predicate()
        feed = self.feed
        if feed is not None:
            # a record the steps cannot read (a value that does not decode, ids not read) is
            # counted once, on its topic, where its ids are first extracted (the checks count
            # into their own)
            with problems_reported_to(feed.record_problems.add):
                kept = feed.drain(DRAIN_BUDGET_S)
                added = feed.filter_step(FILTER_BUDGET_S) if feed.view.filtered else kept
                if self.trace_index is not None:
                    feed.index_step(self.trace_index, INDEX_BUDGET_S)
                if self.live_check is not None:
                    feed.check_step(self.live_check, CHECK_BUDGET_S)
                if self.flow_model is not None:
                    feed.flow_step(self.flow_model, FLOW_BUDGET_S)
            self._take_problems(feed)
            if added or kept or feed.store.stats.evicted:
                self.log_view.refresh_rows()
                self.log_view.set_topics(sorted({*feed.topics, *self._topics_seen(feed)}))
        self._show_status()

    def _topics_seen(self, feed: Feed) -> list[str]:
        source = feed.source
        return list(getattr(source, "topics", []) or [])

    def _take_problems(self, feed: Feed) -> None:
        for problem in feed.problems():
            style = {"error": "bold red", "warning": "yellow"}.get(problem.level, "green")
            self.message = Text(problem.message, style=style)
            if problem.level == "error":
                self.notify(problem.message, severity="error", timeout=8)

    def _show_status(self) -> None:
        # a timer can still tick while the app closes and removes it
        if self._status.is_attached:
            # one line, fixed height: no need to lay the screen out again
            width = self._status.content_size.width or None
            self._status.update(self.status_text(width), layout=False)

    def status_text(self, width: int | None = None) -> Text:
        """The status line; a narrow one keeps what matters most (see ``fitted``)."""
        feed, log = self.feed, self.log_view
        pieces: list[tuple[int, Piece]] = []
        if feed is None:
            pieces.append((0, ("no tail" if not self._opening else "opening…", "dim")))
        else:
            following = ("▶ following", "bold green") if log.follow else ("■ browsing", "bold")
            pieces += [
                (0, following),
                (0, ("⏸ paused (space resumes)", "bold yellow") if feed.paused else None),
                (3, f"{', '.join(feed.topics)} from {describe(feed.start)}"),
                (1, plural(feed.view.rows, "row", shown=number(feed.view.rows))),
                (1, ("(source finished)", "blue") if feed.stats.finished else None),
                (0, (f"{number(log.new_events)} new ↓ (End follows)", "bold cyan")
                    if log.new_events else None),
                *self._filter_pieces(feed),
            ]  # fmt: skip
        if self.marks:
            marked = " .. ".join(f"{e.topic}[{e.partition}]@{e.offset}" for e in self.marks)
            pieces.append((0, (f"marked {marked}", "bold cyan")))
        if self.filter_error is not None:
            pieces.append((0, (f"✖ {self.filter_error}", "bold red")))
        pieces.append((0, self.message))
        return fitted(pieces, width if width is not None else 10_000)

    def _filter_pieces(self, feed: Feed) -> list[tuple[int, Piece]]:
        pieces: list[tuple[int, Piece]] = []
        if self.search_text:
            pieces.append((0, (f"search '{self.search_text}'", "bold magenta")))
        if self.filter is not None:
            errors = self.filter.errors
            could_not = (
                f" ({plural(errors, 'event', shown=number(errors))} could not be evaluated)"
                if errors
                else ""
            )
            pieces.append((0, (f"filter {self.filter.expression}{could_not}", "bold magenta")))
        view = feed.view
        if view.filtered and view.pending:
            pieces.append((1, (f"checking {number(view.pending)}…", "yellow")))
        if view.skipped:
            pieces.append((1, (f"sampled: {number(view.skipped)} not checked", "bold yellow")))
        return pieces

    # -- actions --------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Marks and replay are offered only where a replay can write (a cluster)."""
        return self.can_replay or action not in ("mark", "replay")

    def action_trace_selected(self) -> None:
        event = self.log_view.selected_event()
        if event is None:
            return
        ids = event.ids
        wanted = ids.correlation_id or ids.trace_id or ids.event_id
        if not wanted:
            self.notify("This event carries no correlation, trace or event id.", severity="warning")
            return
        self.app.show_trace(wanted)  # type: ignore[attr-defined]

    class ReplayRequested(Message):
        """Replay ``selection`` (the app opens the dialog)."""

        def __init__(self, selection: Selection) -> None:
            super().__init__()
            self.selection = selection

    def action_mark(self) -> None:
        """Mark the selected event as the start, then the end, of a range to replay.

        Marking holds the cursor (following would move it to the next event that
        arrives); both marks must be on one topic; Escape drops them.
        """
        log = self.log_view
        event = log.selected_event()
        if event is None:
            self.notify("No event to mark.", severity="warning")
            return
        log.stop_following()
        if len(self.marks) >= 2:
            self.marks = []
        where = f"{event.topic}[{event.partition}]@{event.offset}"
        if self.marks and self.marks[0].topic != event.topic:
            first = self.marks[0].topic
            self.notify(
                f"The range starts on {first}, this event is on {event.topic}: a replay reads "
                f"one topic. Mark an end on {first}, or Escape to drop the start.",
                severity="warning", timeout=10,
            )  # fmt: skip
            return
        self.marks.append(event)
        if len(self.marks) == 1:
            self.notify(f"Start marked at {where}; mark the end with m (Escape drops it).")
        else:
            self.notify(f"End marked at {where}; {_range_text(*self.marks)}")
        self._show_status()

    def action_replay(self) -> None:
        """Replay the marked range, else what the tail shows (its topic, start and filter)."""
        expression = self.filter.expression if self.filter is not None else None
        try:
            if len(self.marks) == 1:
                raise EvtuiError("Mark the end of the range too (m), or m twice to start over.")
            if len(self.marks) == 2:
                selection = selection_from_marks(self.marks[0], self.marks[1], expression)
            else:
                start = self.start or parse_position("beginning")
                selection = selection_from_tail(self.topics, start, expression)
        except EvtuiError as exc:
            self.notify(str(exc), severity="warning", timeout=8)
            return
        if self.search_text:
            self.notify(
                "The quick search is not part of a replay (only a filter, e, is).", timeout=8
            )
        self.post_message(self.ReplayRequested(selection))

    def action_toggle_pause(self) -> None:
        if self.feed is not None:
            self.feed.paused = not self.feed.paused
            self._show_status()

    def action_follow(self) -> None:
        self.log_view.action_last()

    def action_seek(self) -> None:
        from evtui.tui.screens.prompt import PromptScreen

        def done(value: str | None) -> None:
            if value:
                self.seek(parse_position(value))

        self.app.push_screen(
            PromptScreen(
                "Seek to",
                "beginning, end, N, -N (per partition), 15m, 2026-11-27T10:00Z, s@<ms>",
                validate=_position_error,
            ),
            done,
        )

    def action_choose_topics(self) -> None:
        from evtui.tui.screens.prompt import PromptScreen

        def done(value: str | None) -> None:
            topics = [t.strip() for t in (value or "").split(",") if t.strip()]
            if topics:
                self.open(topics, self.start or parse_position("-100"))

        self.app.push_screen(
            PromptScreen(
                "Tail topics",
                "names or ^regex, separated by commas",
                value=", ".join(self.topics),
            ),
            done,
        )

    def action_search(self) -> None:
        self._show_input("search", self.search_text, "search text (live; Enter keeps it)")

    def action_filter(self) -> None:
        expression = self.filter.expression if self.filter else ""
        self._show_input("filter", expression, 'CEL filter, e.g. value.type == "OrderPlaced"')

    def _show_input(self, mode: str, value: str, placeholder: str) -> None:
        self._input_mode = mode
        box = self.query_one("#tail-input", Input)
        box.placeholder = placeholder
        box.value = value
        box.remove_class("hidden")
        box.focus()

    def action_clear_filters(self) -> None:
        box = self.query_one("#tail-input", Input)
        self.filter_error = None
        if not box.has_class("hidden"):
            box.add_class("hidden")
            self.log_view.focus()
            return
        if self.marks:  # Escape drops the marks first, then the filters
            self.marks = []
            self.notify("Range marks dropped.")
            self._show_status()
            return
        if self.search_text or self.filter:
            self.search_text, self.filter = "", None
            self._apply_predicate()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "tail-input" and self._input_mode == "search":
            event.stop()
            self.search_text = event.value
            self._predicate_dirty = True  # applied on the next tick: keystrokes coalesce

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "tail-input":
            return
        event.stop()
        if self._input_mode == "filter" and not self.set_filter(event.value):
            return
        event.input.add_class("hidden")
        self.log_view.focus()

    def set_filter(self, expression: str) -> bool:
        """Apply a CEL filter (empty clears it); False, with the message shown, if invalid."""
        if not expression.strip():
            self.filter = None
        else:
            try:
                self.filter = Filter(expression)
            except FilterError as exc:
                self.filter_error = str(exc)  # shown until a valid filter replaces it
                self.notify(str(exc), severity="error", timeout=8)
                self._show_status()
                return False
        self.filter_error = None
        self._apply_predicate()
        return True

    def set_search(self, text: str) -> None:
        self.search_text = text
        self._apply_predicate()

    def _predicate(self) -> Predicate | None:
        parts: list[Predicate] = []
        if self.search_text:
            parts.append(substring_predicate(self.search_text))
        if self.filter is not None:
            parts.append(self.filter.matches)
        return all_of(parts)

    def _apply_predicate(self) -> None:
        self._predicate_dirty = False
        if self.feed is not None:
            self.feed.view.set_predicate(self._predicate())
            self.feed.filter_step(KEYSTROKE_FILTER_BUDGET_S)
            self.log_view.invalidate()
        self._show_status()

    @property
    def source_state(self) -> SourceState | None:
        return self.feed.state if self.feed else None


def _range_text(first: Event, last: Event) -> str:
    """What R will replay for two marks (m again starts over)."""
    from evtui.core.positions import format_ms

    if first.partition == last.partition:
        low, high = sorted((first.offset, last.offset))
        what = f"offsets {low}..{high} of {first.topic}[{first.partition}]"
    else:
        low, high = sorted((first.timestamp, last.timestamp))
        what = (
            f"every partition of {first.topic} from {format_ms(low)} to {format_ms(high)} "
            f"(the marks are on partitions {first.partition} and {last.partition})"
        )
    return f"R replays {what}; m again starts over."


def _position_error(text: str) -> str | None:
    """Why ``text`` is no position, in the seek dialog's words (no CLI option)."""
    try:
        parse_position(text, option="position")
    except EvtuiError as exc:
        return str(exc)
    return None
