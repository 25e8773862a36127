"""``evtui flow``: read a slice of topics and the consumer groups, print the flow graph."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from evtui.core.flow import UNREADABLE, FlowModel
from evtui.core.flow_declared import drift
from evtui.core.flow_render import FORMATS, render, summary
from evtui.core.native import fill_ids
from evtui.core.output import dumps
from evtui.core.positions import describe
from evtui.core.text import plural, visible_lines
from evtui.errors import EvtuiError, Outcome, check_choice

if TYPE_CHECKING:
    from evtui.core.event import Event
    from evtui.core.lag import LagReport
    from evtui.core.positions import Position
    from evtui.core.problems import RecordProblems
    from evtui.sources.base import Source


class NoEvents(Outcome):
    """The slice held no event: there is no flow to draw (exit code 1)."""


class DriftFound(Outcome):
    """The observed flow differs from the declared one (exit code 1, after the graph)."""


def check_format(value: str) -> str:
    return check_choice(value, FORMATS)


@dataclass(frozen=True)
class FlowOptions:
    format: str = "text"
    declared: tuple[Path, ...] = ()  # declarations to compare with (AsyncAPI, evtui files)


class FlowScan:
    """What ``commands.trace.scan`` offers the events to: the flow model."""

    def __init__(self, model: FlowModel) -> None:
        self.model = model

    def offer(self, event: Event) -> None:
        self.model.offer(event)

    def offer_batch(self, batch: list[Event], problems: RecordProblems) -> None:
        fill_ids(batch)  # the ids of the whole batch in one call, where the extension can
        for index, exc in self.model.offer_batch(batch):  # one record's problem, not the read's
            problems.failed(batch[index], exc)


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
    from evtui.core.flow_declared import load

    declared = load(options.declared) if options.declared else None
    model = FlowModel()
    result = scan(source, FlowScan(model), None, err)
    for note in result.problems.lines("read into the flow"):
        print(f"evtui flow: note: {note}", file=err)
    if not result.scanned:
        raise NoEvents(f"no events in {where} (from {describe(start)}): no flow to draw")
    model.set_problems({t: {UNREADABLE: n} for t, n in result.problems.by_topic.items()})
    groups_read = read_groups is not None
    if read_groups is not None:
        try:
            model.groups(read_groups(), topics=getattr(source, "topics", None))
        except EvtuiError as exc:  # the records' flow stands without the groups
            print(f"evtui flow: note: consumer groups could not be read: {exc}", file=err)
            groups_read = False  # (so declared consumers are not judged missing)
    graph = model.snapshot()
    if model.dropped_waiting:
        print(
            f"evtui flow: note: {model.dropped_waiting:,} effects whose causes were not seen "
            "were forgotten at the memory bound",
            file=err,
        )
    findings = drift(graph, declared, groups_read=groups_read) if declared else []
    text = render(graph, options.format, events=result.scanned, changes=())
    if declared is not None and options.format == "json":
        data = json.loads(text)
        data["drift"] = {"declared": declared.files, "findings": [f.to_json() for f in findings]}
        text = dumps(data)
    elif declared is not None:
        lines = [f.text() for f in findings] or ["none: the flow is as declared"]
        files = ", ".join(declared.files)
        drift_text = "\n".join([f"drift against {files}:", *(f"  {line}" for line in lines)])
        if options.format == "text":
            text += "\n" + drift_text
        else:  # dot and mermaid stay drawings: the comparison goes to stderr
            print(drift_text, file=err)
    print(text if options.format == "json" else visible_lines(text), file=out)
    print(
        f"evtui flow: read {plural(result.scanned, 'event')} from {where} "
        f"(from {describe(start)}) in {result.seconds:.2f} s; {summary(graph)}",
        file=err,
    )
    differences = [f for f in findings if f.differs]
    if differences:
        raise DriftFound(f"{plural(len(differences), 'difference')} from the declared flow")
