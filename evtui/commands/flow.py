"""``evtui flow``: read a slice of topics and the consumer groups, print the flow graph."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from evtui.core.flow import FlowModel
from evtui.core.flow_render import FORMATS, render, summary
from evtui.core.native import fill_ids
from evtui.core.positions import describe
from evtui.core.text import plural
from evtui.errors import EvtuiError, check_choice

if TYPE_CHECKING:
    from evtui.core.event import Event
    from evtui.core.lag import LagReport
    from evtui.core.positions import Position
    from evtui.core.problems import RecordProblems
    from evtui.sources.base import Source


class NoEvents(EvtuiError):
    """The slice held no event: there is no flow to draw (exit code 1)."""


def check_format(value: str) -> str:
    return check_choice(value, FORMATS)


@dataclass(frozen=True)
class FlowOptions:
    format: str = "text"


class FlowScan:
    """What ``commands.trace.scan`` offers the events to: the flow model."""

    def __init__(self, model: FlowModel) -> None:
        self.model = model

    def offer(self, event: Event) -> None:
        self.model.offer(event)

    def offer_batch(self, batch: list[Event], problems: RecordProblems) -> None:
        fill_ids(batch)  # the ids of the whole batch in one call, where the extension can
        for event in batch:
            try:
                self.model.offer(event)
            except Exception as exc:  # one record's problem, not the read's
                problems.failed(event, exc)


def run_flow(
    source: Source,
    options: FlowOptions,
    where: str,
    start: Position,
    read_groups: Callable[[], LagReport] | None,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> None:
    """Scan the slice into a flow model, add the groups ``read_groups`` reports (on the
    topics read), print the graph. Raises :class:`NoEvents` when nothing was read."""
    from evtui.commands.trace import scan

    model = FlowModel()
    result = scan(source, FlowScan(model), None, err)
    for note in result.problems.lines("read into the flow"):
        print(f"evtui flow: note: {note}", file=err)
    if not result.scanned:
        raise NoEvents(f"no events in {where} (from {describe(start)}): no flow to draw")
    if read_groups is not None:
        try:
            model.groups(read_groups(), topics=getattr(source, "topics", None))
        except EvtuiError as exc:  # the records' flow stands without the groups
            print(f"evtui flow: note: consumer groups could not be read: {exc}", file=err)
    graph = model.snapshot()
    if model.dropped_waiting:
        print(
            f"evtui flow: note: {model.dropped_waiting:,} effects whose causes were not seen "
            "were forgotten at the memory bound",
            file=err,
        )
    print(render(graph, options.format, events=result.scanned, changes=()), file=out)
    print(
        f"evtui flow: read {plural(result.scanned, 'event')} from {where} "
        f"(from {describe(start)}) in {result.seconds:.2f} s; {summary(graph)}",
        file=err,
    )
