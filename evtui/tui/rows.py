"""How one event looks as a row of the live tail (Rich segments, no Textual widgets)."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style

from evtui.core.event import Event
from evtui.core.ids import shown_id
from evtui.core.output import key_summary, value_summary

TOPIC_COLOURS = (
    "#5fafff",
    "#87d75f",
    "#ffaf5f",
    "#d787ff",
    "#5fd7d7",
    "#ff875f",
    "#d7d75f",
    "#ff87af",
)
DIM = Style(color="#8a8a8a")
PLAIN = Style()
SEP = Segment(" ")
# One style object each, shared by every row (the tail keeps thousands of rendered rows).
TOPIC_STYLES = tuple(Style(color=colour) for colour in TOPIC_COLOURS)
CORR = Style(color="#d7af5f")
TYPE = Style(bold=True)


def _colour_index(topic: str) -> int:
    return zlib.crc32(topic.encode()) % len(TOPIC_COLOURS)


def topic_colour(topic: str) -> str:
    """The same colour for a topic in every view and every run."""
    return TOPIC_COLOURS[_colour_index(topic)]


def topic_style(topic: str) -> Style:
    """:func:`topic_colour` as a style (one object per colour)."""
    return TOPIC_STYLES[_colour_index(topic)]


def clock(ms: int) -> str:
    """``HH:MM:SS.mmm`` in UTC."""
    if ms < 0:
        return "--:--:--.---"
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.strftime("%H:%M:%S.") + f"{ms % 1000:03d}"


def cut(text: str, width: int) -> str:
    """``text`` in exactly ``width`` cells; a longer one ends in ``…``, visibly cut."""
    if cell_len(text) <= width:
        return set_cell_size(text, width)
    return set_cell_size(text, width - 1) + "…"


def short_type(event_type: str | None, width: int) -> str:
    """``shop.inventory.StockReserved`` as ``StockReserved`` when the whole name won't fit."""
    if not event_type:
        return ""
    if len(event_type) > width and "." in event_type:
        return event_type.rsplit(".", 1)[-1]
    return event_type


MIN_SUMMARY = 18  # a narrower terminal gives up other columns first (see Columns.for_width)


@dataclass(frozen=True)
class Columns:
    """Column widths for a given screen width and the topics in view."""

    topic: int
    key: int = 14
    corr: int = 13
    type: int = 18
    time: int = 12
    partition: int = 3
    offset: int = 9
    hidden: frozenset[str] = frozenset()  # columns a narrow terminal gave up

    @classmethod
    def fit(cls, topics: list[str]) -> Columns:
        longest = max((len(t) for t in topics), default=5)
        return cls(topic=max(5, min(longest, 24)))

    def for_width(self, width: int) -> Columns:
        """The columns by priority: each step gives up a little more until SUMMARY has
        ``MIN_SUMMARY`` cells (correlation first, then partition and offset, then widths)."""
        steps = (
            {"hidden": frozenset({"corr"})},
            {"hidden": frozenset({"corr", "partition", "offset"})},
            {"key": min(self.key, 12)},
            {"type": min(self.type, 16)},
            {"topic": min(self.topic, 10)},
            {"time": 8},
        )
        cols = self
        for step in steps:
            if width - cols.fixed() >= MIN_SUMMARY:
                break
            cols = replace(cols, **step)
        return cols

    def shown(self, name: str) -> bool:
        return name not in self.hidden

    def fixed(self) -> int:
        widths = {
            "time": self.time, "topic": self.topic, "partition": self.partition,
            "offset": self.offset, "key": self.key, "corr": self.corr, "type": self.type,
        }  # fmt: skip
        return sum(w + 1 for name, w in widths.items() if self.shown(name))  # one space after

    def header(self, width: int) -> list[Segment]:
        summary = "SUMMARY"
        if self.hidden:
            summary += f" ⏎ +{len(self._hidden_names())} cols"
        names = [
            ("time", "TIME (UTC)" if self.time >= 10 else "TIME", self.time),
            ("topic", "TOPIC", self.topic),
            ("partition", "  P", self.partition),
            ("offset", "   OFFSET", self.offset),
            ("key", "KEY", self.key),
            ("corr", "CORRELATION", self.corr),
            ("type", "TYPE", self.type),
            ("summary", summary, max(0, width - self.fixed())),
        ]
        return _cells([(set_cell_size(n, w), PLAIN) for c, n, w in names if self.shown(c)], width)

    def _hidden_names(self) -> list[str]:
        return [name for name in ("partition", "offset", "corr") if name in self.hidden]


def _cells(parts: list[tuple[str, Style]], width: int) -> list[Segment]:
    """Columns separated by one space, padded or cropped to ``width`` cells."""
    segments: list[Segment] = []
    for text, style in parts:
        segments.append(Segment(text, style))
        segments.append(SEP)
    return list(Segment.adjust_line_length(segments, width))


def row_segments(event: Event, cols: Columns, width: int) -> list[Segment]:
    """One event as a line of exactly ``width`` cells (the columns ``cols`` shows)."""
    ids = event.ids
    summary_width = max(0, width - cols.fixed())
    parts = [
        ("time", clock(event.timestamp)[: cols.time], DIM),
        ("topic", cut(event.topic, cols.topic), topic_style(event.topic)),
        ("partition", str(event.partition).rjust(cols.partition), DIM),
        ("offset", str(event.offset).rjust(cols.offset), DIM),
        ("key", cut(key_summary(event.key), cols.key), PLAIN),
        ("corr", cut(shown_id(ids.correlation_id or ""), cols.corr), CORR),
        ("type", cut(short_type(ids.event_type, cols.type), cols.type), TYPE),
        ("summary", set_cell_size(value_summary(event)[: summary_width + 1], summary_width), PLAIN),
    ]
    return _cells([(text, style) for name, text, style in parts if cols.shown(name)], width)
