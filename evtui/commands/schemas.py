"""``evtui schemas``: which registry schemas each topic was written with, when, by whom."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, TextIO

from evtui.core.output import dumps
from evtui.core.positions import describe
from evtui.core.schemas import SchemaTimeline
from evtui.core.text import plural, visible_lines
from evtui.errors import check_choice

if TYPE_CHECKING:
    from evtui.core.event import Event
    from evtui.core.positions import Position
    from evtui.core.problems import RecordProblems
    from evtui.sources.base import Source

FORMATS = ("text", "json")


def check_format(value: str) -> str:
    return check_choice(value, FORMATS)


class TimelineScan:
    """What ``commands.trace.scan`` offers the events to: the schema timeline."""

    def __init__(self, timeline: SchemaTimeline) -> None:
        self.timeline = timeline

    def offer(self, event: Event) -> None:
        self.timeline.offer(event)

    def offer_batch(self, batch: list[Event], problems: RecordProblems) -> None:
        from evtui.core.problems import offer_all

        offer_all(self.timeline.offer, batch, problems)


def run_schemas(
    source: Source,
    fmt: str,
    where: str,
    start: Position,
    decodes: bool,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> None:
    """Scan the slice into a timeline and print it; ``decodes``: a registry is configured."""
    from evtui.commands.trace import scan

    timeline = SchemaTimeline()
    result = scan(source, TimelineScan(timeline), None, err)
    for note in result.problems.lines("read"):
        print(f"evtui schemas: note: {note}", file=err)
    if not decodes:
        print(
            "evtui schemas: note: no schema registry given (--schema-registry): schema ids "
            "are shown without subjects and versions",
            file=err,
        )
    if timeline.evicted:
        print(f"evtui schemas: note: {timeline.evicted:,} schemas forgotten at the bound", file=err)
    text = dumps(timeline.to_json()) if fmt == "json" else visible_lines(timeline.render_text())
    print(text, file=out)
    rows = sum(len(rows) for rows in timeline.topics.values())
    print(
        f"evtui schemas: read {plural(result.scanned, 'event')} from {where} "
        f"(from {describe(start)}) in {result.seconds:.2f} s; "
        f"{plural(rows, 'schema')} on {plural(len(timeline.topics), 'topic')}",
        file=err,
    )
