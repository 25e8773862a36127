"""The live tail: a Line API virtual list over a Feed's view (Toolong-style).

Only visible lines are rendered, each from a small cache of strips keyed by
the event's sequence number, so scrolling through hundreds of thousands of
kept events costs the same as scrolling through fifty. Line 0 is the column
header. Follow mode keeps the cursor on the newest event; any move away from
the end switches it off, and the number of events that arrived since is shown.
"""

from __future__ import annotations

from collections import OrderedDict

from rich.segment import Segment
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from evtui.core import native
from evtui.core.event import Event
from evtui.tui.feed import Feed
from evtui.tui.rows import Columns, row_segments

_untrack_line = native.line_untracker(Segment)

CACHE_LINES = 2000


class TailLog(ScrollView, can_focus=True):
    """Rows of the current feed; cursor, follow and selection."""

    # Priority: handled as soon as the key arrives, not after it bubbles through
    # every container up to the app (measured in bench/ui: p99 135-210 ms under load).
    # Only while the list has focus: a search box or a dialog never loses its keys.
    BINDINGS = [
        Binding("up,k", "cursor_up", "Up", show=False, priority=True),
        Binding("down,j", "cursor_down", "Down", show=False, priority=True),
        Binding("pageup,ctrl+b", "page_up", "Page up", show=False, priority=True),
        Binding("pagedown,ctrl+f", "page_down", "Page down", show=False, priority=True),
        Binding("ctrl+u", "half_page_up", "Half page up", show=False, priority=True),
        Binding("ctrl+d", "half_page_down", "Half page down", show=False, priority=True),
        Binding("home,g", "first", "First", show=False, priority=True),
        Binding("end,G", "last", "Last + follow", show=False, priority=True),
        Binding("enter", "select", "Detail", priority=True),
    ]
    COMPONENT_CLASSES = {"tail--cursor", "tail--header", "tail--empty"}
    DEFAULT_CSS = """
    TailLog { height: 1fr; overflow-x: hidden; }
    TailLog > .tail--cursor { background: $accent 40%; }
    TailLog:focus > .tail--cursor { background: $accent 70%; }
    TailLog > .tail--header { text-style: bold; color: $text-muted; background: $panel; }
    TailLog > .tail--empty { color: $text-muted; }
    """

    follow: reactive[bool] = reactive(True)
    cursor_row: reactive[int] = reactive(0, always_update=True)

    class Selected(Message):
        """The user asked for an event's detail."""

        def __init__(self, event: Event) -> None:
            self.event = event
            super().__init__()

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.feed: Feed | None = None
        self.empty_text = "No tail yet: pick topics in the overview (1) or press t."
        self._cols = Columns.fit([])
        self._fitted = self._cols  # the columns for the current width
        self._fitted_for: Columns | None = None
        self._cache: OrderedDict[int, list[Segment]] = OrderedDict()
        self._cache_width = 0
        self._cursor_seq = -1
        self._top_seq = -1
        self._total_at_unfollow = 0
        self._auto_scroll = False

    # -- data -----------------------------------------------------------------------------

    def set_feed(self, feed: Feed | None) -> None:
        self.feed = feed
        self._cols = Columns.fit(feed.topics if feed else [])
        self._cache.clear()
        self._cursor_seq = self._top_seq = -1
        self.follow = True
        self.refresh_rows()
        self.refresh()

    def set_topics(self, topics: list[str]) -> None:
        """Widen the topic column for topics discovered since the feed started."""
        cols = Columns.fit(topics)
        if cols != self._cols:
            self._cols = cols
            self._cache.clear()
            self.refresh()

    def invalidate(self) -> None:
        """Rows changed meaning (a new filter): forget cached lines and anchors."""
        self._cache.clear()
        self._total_at_unfollow = self.feed.view.total if self.feed else 0
        self.refresh_rows()
        self.refresh()

    @property
    def rows(self) -> int:
        return self.feed.view.rows if self.feed else 0

    @property
    def new_events(self) -> int:
        """Rows that arrived since follow was switched off."""
        if self.follow or self.feed is None:
            return 0
        return max(0, self.feed.view.total - self._total_at_unfollow)

    @property
    def page(self) -> int:
        return max(1, self._height - 1)

    @property
    def _height(self) -> int:
        return self.scrollable_content_region.height

    @property
    def _width(self) -> int:
        return self.scrollable_content_region.width

    def selected_event(self) -> Event | None:
        if self.feed is None or self.rows == 0:
            return None
        return self.feed.view.event_at(min(self.cursor_row, self.rows - 1))

    def refresh_rows(self) -> None:
        """Call after the feed changed: keep follow at the end, or the cursor on its event."""
        rows = self.rows
        self.virtual_size = Size(self._width, rows + 1)
        if rows == 0:
            self.cursor_row = 0
            self._scroll(0)
            self.refresh()
            return
        view = self.feed.view  # type: ignore[union-attr]
        if self.follow:
            self.cursor_row = rows - 1
            self._scroll_end()
        else:
            if self._cursor_seq >= 0:
                self.cursor_row = view.row_of(self._cursor_seq)
            if self._top_seq >= 0:
                self._scroll(view.row_of(self._top_seq))
        self._remember()
        self.refresh()

    def _remember(self) -> None:
        if self.feed is None or self.rows == 0:
            return
        view = self.feed.view
        self.cursor_row = min(self.cursor_row, self.rows - 1)
        self._cursor_seq = view.seq_at(self.cursor_row)
        self._top_seq = view.seq_at(min(int(self.scroll_y), self.rows - 1))

    def _scroll_end(self) -> None:
        """To the last row, now and again after the next layout (which sees the new size)."""
        self._scroll(max(0, self.rows + 1 - self._height))
        self.call_after_refresh(self._scroll_end_later)

    def _scroll_end_later(self) -> None:
        if self.follow:
            self._scroll(max(0, self.rows + 1 - self._height))

    def _scroll(self, y: int) -> None:
        self._auto_scroll = True
        try:
            self.scroll_to(y=y, animate=False, immediate=True, force=True)
        finally:
            self._auto_scroll = False
        # Textual moves the scrollbar only while it is shown: one that shows up after this
        # scroll (the rows just outgrew the screen) would draw its thumb at the top
        self.vertical_scrollbar.position = self.scroll_y

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        # the user scrolled up (not Textual clamping the offset when the rows shrink)
        if not self._auto_scroll and new < old and new < self.max_scroll_y and self.follow:
            self._unfollow()
        if not self._auto_scroll:
            self._remember()

    def watch_follow(self, follow: bool) -> None:
        if follow:
            self.refresh_rows()

    def _unfollow(self) -> None:
        self._total_at_unfollow = self.feed.view.total if self.feed else 0
        self.follow = False

    def stop_following(self) -> None:
        """Hold the cursor on its event: new events no longer move it (End follows again)."""
        if self.follow:
            self._unfollow()
            self._remember()

    # -- movement -------------------------------------------------------------------------

    def _move_to(self, row: int) -> None:
        rows = self.rows
        if rows == 0:
            return
        row = max(0, min(row, rows - 1))
        if row < rows - 1 and self.follow:
            self._unfollow()
        self.cursor_row = row
        top = int(self.scroll_y)
        if row < top:
            self._scroll(row)
        elif row >= top + self.page:
            self._scroll(row - self.page + 1)
        self._remember()
        if row == rows - 1 and not self.follow:
            self.follow = True
        self.refresh()

    def action_cursor_up(self) -> None:
        self._move_to(self.cursor_row - 1)

    def action_cursor_down(self) -> None:
        self._move_to(self.cursor_row + 1)

    def action_page_up(self) -> None:
        self._move_to(self.cursor_row - self.page)

    def action_page_down(self) -> None:
        self._move_to(self.cursor_row + self.page)

    def action_half_page_up(self) -> None:
        self._move_to(self.cursor_row - self.page // 2)

    def action_half_page_down(self) -> None:
        self._move_to(self.cursor_row + self.page // 2)

    def action_first(self) -> None:
        self._move_to(0)

    def action_last(self) -> None:
        self._move_to(self.rows - 1)
        self.follow = True

    def action_select(self) -> None:
        event = self.selected_event()
        if event is not None:
            self.post_message(self.Selected(event))

    def on_click(self, event: events.Click) -> None:
        row = int(self.scroll_y) + event.y - 1
        if event.y >= 1 and 0 <= row < self.rows:
            self._move_to(row)
            if event.chain >= 2:
                self.action_select()

    # -- rendering ------------------------------------------------------------------------

    def on_resize(self) -> None:
        self.refresh_rows()

    def render_line(self, y: int) -> Strip:
        width = self._width
        if width != self._cache_width or self._fitted_for is not self._cols:
            self._cache.clear()
            self._cache_width = width
            self._fitted = self._cols.for_width(width)  # narrow: columns by priority
            self._fitted_for = self._cols
        if y == 0:
            style = self.get_component_rich_style("tail--header")
            return Strip(self._fitted.header(width)).apply_style(style)
        row = int(self.scroll_y) + y - 1
        if self.feed is None or row >= self.rows:
            if row == 0:
                return self._empty_line(width)
            return Strip.blank(width, self.rich_style)
        strip = Strip(self._segments(row, width), width)
        if row == self.cursor_row:
            strip = strip.apply_style(self.get_component_rich_style("tail--cursor"))
        return strip

    def _empty_line(self, width: int) -> Strip:
        text = self.empty_text if self.feed is None else "No events yet."
        style = self.get_component_rich_style("tail--empty")
        return Strip(list(Segment.adjust_line_length([Segment(" " + text, style)], width)))

    def _segments(self, row: int, width: int) -> list[Segment]:
        view = self.feed.view  # type: ignore[union-attr]
        seq = view.seq_at(row)
        cached = self._cache.get(seq)
        if cached is not None:
            self._cache.move_to_end(seq)
            return cached
        segments = row_segments(view.store[seq], self._fitted, width)
        self._cache[seq] = _off_the_collector(segments)
        if len(self._cache) > CACHE_LINES:
            self._cache.popitem(last=False)
        return segments


def _off_the_collector(segments: list[Segment]) -> list[Segment]:
    """A line kept in the cache, taken off the cyclic collector's lists with its segments.

    The cache keeps up to CACHE_LINES lines of a dozen segments each: bench/soak found
    them 40% of what every full garbage collection walked. A segment holds text, a
    shared style and control codes, none of which refers back to it, so reference
    counting alone frees them (see ``native.line_untracker``).
    """
    _untrack_line(segments)
    return segments
