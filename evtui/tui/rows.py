"""How one event looks as a row of the live tail (Rich segments, no Textual widgets)."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
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


def topic_colour(topic: str) -> str:
    """The same colour for a topic in every view and every run."""
    return TOPIC_COLOURS[zlib.crc32(topic.encode()) % len(TOPIC_COLOURS)]


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

    @classmethod
    def fit(cls, topics: list[str]) -> Columns:
        longest = max((len(t) for t in topics), default=5)
        return cls(topic=max(5, min(longest, 24)))

    def fixed(self) -> int:
        widths = (self.time, self.topic, self.partition, self.offset, self.key, self.corr)
        return sum(widths) + self.type + 7  # one space after each column

    def header(self, width: int) -> list[Segment]:
        names = [
            ("TIME (UTC)", self.time),
            ("TOPIC", self.topic),
            ("  P", self.partition),
            ("   OFFSET", self.offset),
            ("KEY", self.key),
            ("CORRELATION", self.corr),
            ("TYPE", self.type),
            ("SUMMARY", max(0, width - self.fixed())),
        ]
        return _cells([(set_cell_size(n, w), PLAIN) for n, w in names], width)


def _cells(parts: list[tuple[str, Style]], width: int) -> list[Segment]:
    """Columns separated by one space, padded or cropped to ``width`` cells."""
    segments: list[Segment] = []
    for text, style in parts:
        segments.append(Segment(text, style))
        segments.append(SEP)
    return list(Segment.adjust_line_length(segments, width))


def row_segments(event: Event, cols: Columns, width: int) -> list[Segment]:
    """One event as a line of exactly ``width`` cells."""
    ids = event.ids
    summary_width = max(0, width - cols.fixed())
    parts = [
        (clock(event.timestamp), DIM),
        (set_cell_size(event.topic, cols.topic), Style(color=topic_colour(event.topic))),
        (str(event.partition).rjust(cols.partition), DIM),
        (str(event.offset).rjust(cols.offset), DIM),
        (set_cell_size(key_summary(event.key), cols.key), PLAIN),
        (cut(shown_id(ids.correlation_id or ""), cols.corr), Style(color="#d7af5f")),
        (set_cell_size(short_type(ids.event_type, cols.type), cols.type), Style(bold=True)),
        (set_cell_size(value_summary(event)[: summary_width + 1], summary_width), PLAIN),
    ]
    return _cells(parts, width)
