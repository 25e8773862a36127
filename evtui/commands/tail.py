"""``evtui tail``: events from Kafka to stdout, as text or JSON lines."""

from __future__ import annotations

import select
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from evtui.core.event import Event, describe_error
from evtui.core.filters import Filter
from evtui.core.native import json_lines, json_text
from evtui.core.output import dumps, json_line, text_line
from evtui.core.positions import Kind, Position, describe
from evtui.core.problems import RecordProblems
from evtui.errors import EvtuiError, OutputClosed, UsageError
from evtui.sources.base import Source, SourceState

if TYPE_CHECKING:
    from evtui.sources.kafka import PartitionPlan


@dataclass
class TailOptions:
    format: str = "text"  # text | json
    raw: bool = False
    headers: bool = False
    max_events: int | None = None
    filter: Filter | None = None


def check_range(start: Position, until: Position | None) -> None:
    """An end before the start (both offsets, or both times) is a mistake: say so at once."""
    if until is None or start.kind is not until.kind or start.kind not in (Kind.OFFSET, Kind.TIME):
        return
    if start.value > until.value:
        raise UsageError(
            f"the range is empty: --from {describe(start)} is after --until {describe(until)} "
            "(--until is the last offset, or time, read)"
        )


def range_note(start: Position, until: Position | None, plans: list[PartitionPlan]) -> str | None:
    """One line when the range holds nothing to read, or starts past every partition's end."""
    if not plans:
        return None
    ends = ", ".join(f"{p.topic}[{p.partition}] ends at {p.high:,}" for p in plans[:3])
    ends += f", and {len(plans) - 3} more" if len(plans) > 3 else ""
    past = start.kind is Kind.OFFSET and all(start.value > p.high for p in plans)
    if until is not None and all(p.empty for p in plans):
        why = f"--from {describe(start)} is past the end" if past else "no records lie there"
        return f"the range is empty: {why} ({ends}); nothing to print"
    if past:
        return f"--from {describe(start)} is past the end ({ends}): reading new events from there"
    return None


def formatter(options: TailOptions) -> Callable[[Event], str]:
    if options.format == "json":
        raw = options.raw
        return lambda e: json_line(e, raw=raw)
    show_headers = options.headers
    return lambda e: text_line(e, headers=show_headers)


def render_batch(
    render: Callable[[Event], str],
    batch: list[Event],
    json: bool,
    problems: RecordProblems,
    native: bool = False,
) -> str:
    """The lines of ``batch``; an event that cannot be shown is a line saying why, and counted.

    ``native``: JSON lines (not raw) are written by the native hot path where it can.
    """
    if native:
        text = json_text(batch)  # every line by the extension (most batches)
        if text is not None:
            return text
        lines = json_lines(batch)
        if None not in lines:
            return "\n".join(lines)  # type: ignore[arg-type]
        return "\n".join(
            line if line is not None else _render_one(render, event, json, problems)
            for line, event in zip(lines, batch, strict=True)
        )
    try:
        return "\n".join(map(render, batch))
    except Exception:  # one record's problem: show the others
        return "\n".join(_render_one(render, event, json, problems) for event in batch)


def _render_one(
    render: Callable[[Event], str], event: Event, json: bool, problems: RecordProblems
) -> str:
    try:
        return render(event)
    except Exception as exc:
        problems.failed(event, exc)
        reason = describe_error(exc)
        if json:
            where = {"topic": event.topic, "partition": event.partition, "offset": event.offset}
            return dumps({**where, "error": f"could not be shown: {reason}"})
        return f"{event.ref}  <could not be shown: {reason}>"


def report_problems(source: Source, err: TextIO) -> None:
    for problem in source.problems():
        if problem.level == "error":
            raise EvtuiError(problem.message)
        prefix = "warning: " if problem.level == "warning" else ""
        print(f"evtui: {prefix}{problem.message}", file=err, flush=True)


def _write(out: TextIO, text: str) -> None:
    try:
        out.write(text)
        out.flush()
    except BrokenPipeError:
        raise OutputClosed from None


def _reader_gone(out: TextIO) -> bool:
    """True when ``out`` is a pipe whose reader has gone (POLLERR on its write end).

    A large write that the reader abandons half-way does not fail in CPython,
    so an idle tail would otherwise only notice at its next event.
    """
    try:
        poller = select.poll()
        poller.register(out.fileno(), select.POLLERR)
        return any(mask & select.POLLERR for _, mask in poller.poll(0))
    except (OSError, ValueError, AttributeError):  # not a real file (tests, notebooks)
        return False


def run_tail(
    source: Source, options: TailOptions, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Copy events from ``source`` to ``out`` until its bound, ``max_events`` or Ctrl-C.

    Returns the number of events written.
    """
    out = out or sys.stdout
    err = err or sys.stderr
    render = formatter(options)
    as_json = options.format == "json"
    native = as_json and not options.raw
    problems = RecordProblems()
    flt = options.filter
    limit = options.max_events
    written = 0
    source.start()
    try:
        while True:
            batch = source.get_batch(0.2)
            report_problems(source, err)
            if batch is None:
                break
            if flt is not None:
                batch = [e for e in batch if flt.matches(e)]
            if limit is not None and written + len(batch) >= limit:
                batch = batch[: limit - written]
            if batch:
                _write(out, render_batch(render, batch, as_json, problems, native) + "\n")
                written += len(batch)
            if limit is not None and written >= limit:
                break
            if not batch and _reader_gone(out):
                raise OutputClosed
        report_problems(source, err)
        if source.state is SourceState.FAILED:
            raise EvtuiError("reading stopped because of an error (see above)")
    finally:
        source.stop()
    for line in problems.lines("shown"):
        print(f"evtui: note: {line}", file=err)
    if flt is not None and flt.errors:
        print(
            f"evtui: note: the filter could not be evaluated on {flt.errors} event(s), "
            f"which did not match; last: {flt.last_error}",
            file=err,
        )
    skipped = getattr(source, "skipped_topics", None)
    if skipped:  # said once when the tail started; the exit code tells it too
        raise EvtuiError(f"{len(skipped)} topic(s) could not be read (see the warning above)")
    return written
