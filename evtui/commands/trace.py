"""``evtui trace ID``: find one transaction's events on the cluster and show its causal graph.

For each partition the scan seeks to the start time with the broker's
offsets-for-times, reads to the end bound (the end when the command started,
by default), and offers every event to a collector that keeps the events of
the transaction: those carrying the id as correlation, trace or event id and
those linked to them through causation ids or span parentage.

An id no event carries whole may be the start of one (8 characters or more,
see :mod:`evtui.core.idsearch`): the scan gathers the ids starting with it, and
when exactly one does, the same range is read again for that id; several make
a one-line usage error naming them.
"""

from __future__ import annotations

import contextlib
import gc
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, TextIO

from evtui.core.event import Event, problems_reported_to
from evtui.core.ids import shown_id
from evtui.core.idsearch import MIN_PREFIX, Candidates
from evtui.core.output import dumps
from evtui.core.positions import Position, describe
from evtui.core.problems import RecordProblems, offer_all
from evtui.core.text import plural, visible_lines
from evtui.errors import EvtuiError, Outcome, UsageError, check_choice
from evtui.sources.base import Source, ends_of

if TYPE_CHECKING:
    from evtui.plugins import Registry
    from evtui.sources.kafka import KafkaSource

FORMATS = ("tree", "json", "dot", "mermaid")
PROGRESS_EVERY_S = 0.2
MAX_PENDING = 1_000_000  # events held as possible causes, over all workers


class NothingFound(Outcome):
    """The scan finished without finding the transaction (exit code 1)."""


@dataclass
class TraceOptions:
    wanted: str
    format: str = "tree"
    max_scan: int | None = None  # stop after scanning this many events
    max_events: int = 100_000  # events kept for the trace
    jobs: int | None = None  # worker processes; None: one per core for large ranges


@dataclass
class ScanResult:
    scanned: int
    seconds: float
    reason: str
    problems: RecordProblems = field(default_factory=RecordProblems)  # records not read whole


def check_format(value: str, registry: Registry | None = None) -> str:
    """``value`` when it is a built-in format or one a plugin registered for ``trace``.

    Call it after the plugins are loaded: the valid formats are the registry's.
    """
    from evtui.plugins import active_registry

    return check_choice(value, (registry or active_registry()).formats("trace"))


def check_id(value: str) -> str:
    text = value.strip()
    if not text:
        raise UsageError("invalid ID: it is empty")
    if len(text) > 256:
        raise UsageError("invalid ID: longer than 256 characters")
    return text


def scan(source: Source, collector: object, max_scan: int | None, err: TextIO) -> ScanResult:
    """Offer every event up to the bound (or ``max_scan``); progress on a terminal's stderr.

    A source that can read in the calling thread (``read_inline``) does: the
    scan is CPU-bound Python, and two busy threads would only pass the GIL
    back and forth. Others are started and drained batch by batch, and so is
    every source for a collector whose work releases the GIL (``detaches``: the
    native checks), so that reading the next batch overlaps checking this one.
    """
    scanner = _Scanner(source, collector, max_scan, err)
    started = time.monotonic()
    try:
        with problems_reported_to(scanner.problems.add):
            read_inline = getattr(source, "read_inline", None)
            if read_inline is not None and not getattr(collector, "detaches", False):
                read_inline(scanner.take)
            else:
                source.start()
                while (batch := source.get_batch(0.2)) is not None and scanner.take(batch):
                    pass
    finally:
        scanner.progress.clear()
        source.stop()
    if scanner.error is not None:
        raise EvtuiError(scanner.error)
    _raise_errors(source)
    seconds = time.monotonic() - started
    return ScanResult(scanner.scanned, seconds, scanner.reason, scanner.problems)


class _Scanner:
    """Offers each batch to the collector and says when to stop (limit reached, error).

    A record whose value, ids or checks fail is a problem of that record
    (``problems``), never the end of the scan (see ``core.problems``).
    """

    def __init__(
        self, source: Source, collector: object, max_scan: int | None, err: TextIO
    ) -> None:
        self.source = source
        self.offer = collector.offer  # type: ignore[attr-defined]
        self.offer_batch = getattr(collector, "offer_batch", None)  # a whole batch at once
        self.rest = getattr(collector, "rest", None)  # partitions read to their end (checks)
        self.max_scan = max_scan
        self.progress = Progress(err)
        self.scanned = 0
        self.reason = "reached the end bound"
        self.error: str | None = None
        self.problems = RecordProblems()

    def take(self, batch: list[Event]) -> bool:
        """Offer ``batch``; False when the scan should stop."""
        if self.offer_batch is not None:
            self.offer_batch(batch, self.problems)
        else:
            offer_all(self.offer, batch, self.problems)
        if self.rest is not None and (ends := ends_of(batch)):
            self.rest(ends)
        self.scanned += len(batch)
        self.progress.show(self.scanned, self.source)
        if self.max_scan is not None and self.scanned >= self.max_scan:
            self.reason = f"scan limit of {self.max_scan:,} events reached"
            return False
        for problem in self.source.problems():
            if problem.level == "error":
                self.error = problem.message
                return False
        return True


def _raise_errors(source: Source) -> None:
    for problem in source.problems():
        if problem.level == "error":
            raise EvtuiError(problem.message)


class Progress:
    """A one-line progress display on stderr when it is a terminal."""

    def __init__(self, err: TextIO) -> None:
        self.err = err
        self.enabled = err.isatty()
        self._last = 0.0
        self._started = time.monotonic()

    def show(self, scanned: int, source: Source) -> None:
        stats = source.stats
        self.show_counts(scanned, stats.partitions_done, stats.partitions)

    def show_counts(self, scanned: int, done: int, total: int) -> None:
        now = time.monotonic()
        if not self.enabled or now - self._last < PROGRESS_EVERY_S:
            return
        self._last = now
        rate = scanned / max(now - self._started, 1e-6)
        self.err.write(
            f"\r\x1b[Kevtui trace: scanned {scanned:,} events ({rate:,.0f}/s), "
            f"{done}/{total} partitions done"
        )
        self.err.flush()

    def clear(self) -> None:
        if self.enabled:
            self.err.write("\r\x1b[K")
            self.err.flush()


def render(trace: object, fmt: str, problems: RecordProblems | None = None) -> str:
    from evtui.core import traces

    if fmt == "json":
        data = trace.to_json()  # type: ignore[attr-defined]
        if problems is not None:  # the records the scan could not read whole
            data["problems"] = problems.to_json()
        return dumps(data)
    renderer = {
        "tree": traces.render_tree,
        "dot": traces.render_dot,
        "mermaid": traces.render_mermaid,
    }
    return renderer[fmt](trace).rstrip("\n")  # type: ignore[arg-type]


def emit(
    trace: object,
    fmt: str,
    out: TextIO,
    problems: RecordProblems | None = None,
    registry: Registry | None = None,
) -> None:
    """Write ``trace`` in ``fmt``: a built-in renderer, or a plugin's exporter.

    An exporter writes ``trace`` (a :class:`evtui.core.traces.Trace`) with
    ``write(trace, out)``; it writes into a buffer first, so that an exporter
    that fails leaves no half document behind, only one error line.
    """
    import io

    from evtui.plugins import active_registry

    if fmt in FORMATS:  # (json escapes what it must; the others are for a terminal)
        text = render(trace, fmt, problems)
        print(text if fmt == "json" else visible_lines(text), file=out)
        return
    exporter = (registry or active_registry()).exporter("trace", fmt)
    if exporter is None:
        check_format(fmt, registry)  # raises the usage error naming the valid formats
        raise UsageError(f"invalid --format '{fmt}'")  # pragma: no cover
    buffer = io.StringIO()
    try:
        exporter.write(trace, buffer)
    except EvtuiError:
        raise
    except Exception as exc:  # a plugin's failure is one line, not a traceback
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        what = f"{type(exc).__name__}: {reason}" if reason else type(exc).__name__
        raise EvtuiError(f"format {fmt} (plugin {exporter.plugin}) failed: {what}") from None
    out.write(buffer.getvalue())
    out.flush()


@dataclass
class Found:
    """A scan's result: the transaction's events and how the scan went."""

    events: list[Event]
    notes: list[str]
    scan: ScanResult
    jobs: int = 1
    candidates: Candidates = field(default_factory=Candidates)  # ids the wanted one starts


def collect(source: Source, options: TraceOptions, err: TextIO) -> Found:
    """Scan in this process, or in ``options.jobs`` worker processes (see ``trace_jobs``)."""
    from evtui.commands import trace_jobs
    from evtui.core.traces import TraceCollector, collector_notes
    from evtui.sources.kafka import KafkaSource

    for problem in source.problems():  # said at open (a named topic not authorized)
        if problem.level == "error":
            raise EvtuiError(problem.message)
        print(f"evtui trace: {problem.level}: {problem.message}", file=err, flush=True)
    plans = list(source.plans.values()) if isinstance(source, KafkaSource) else []
    jobs = trace_jobs.choose_jobs(options.jobs, plans) if plans else 1
    with _collecting_garbage_later():
        if jobs > 1:
            return _collect_in_parallel(source, options, plans, jobs, err)  # type: ignore[arg-type]
        collector = TraceCollector(
            options.wanted, max_events=options.max_events, max_pending=MAX_PENDING
        )
        result = scan(source, collector, options.max_scan, err)
    notes = collector_notes(options.max_events, collector.not_kept, collector.dropped)
    return Found(collector.result(), notes, result, candidates=collector.candidates)


def _collect_in_parallel(
    source: KafkaSource, options: TraceOptions, plans: list, jobs: int, err: TextIO
) -> Found:
    from evtui.commands.trace_jobs import Share, scan_in_parallel
    from evtui.core.ids import active_rules
    from evtui.core.traces import collector_notes, in_time_order

    source.stop()  # its plan is all the workers need
    share = Share(
        config=source.config,
        plans=tuple(plans),
        until=source.until,
        wanted=options.wanted,
        max_events=options.max_events,
        max_pending=max(1, MAX_PENDING // jobs),
        max_scan=None if options.max_scan is None else -(-options.max_scan // jobs),
        rules=active_rules(),
        timeout=source.timeout,
    )
    progress = Progress(err)
    started = time.monotonic()
    try:
        outcome = scan_in_parallel(share, jobs, progress.show_counts)
    finally:
        progress.clear()
    seconds = time.monotonic() - started
    events = in_time_order(outcome.events)
    not_kept = outcome.not_kept + max(0, len(events) - options.max_events)
    notes = collector_notes(options.max_events, not_kept, outcome.dropped)
    result = ScanResult(outcome.scanned, seconds, outcome.reason, outcome.problems)
    return Found(events[: options.max_events], notes, result, jobs, outcome.candidates)


@contextlib.contextmanager
def _collecting_garbage_later() -> Iterator[None]:
    """No cyclic garbage collection during a scan.

    A scan holds up to a million events (no reference cycles among them),
    and each full collection walks them all: 15% of a scan's time (measured).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def run_trace(
    source: Source,
    options: TraceOptions,
    where: str,
    start: Position,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> None:
    from evtui.core.traces import build_trace

    read_again = _rereader(source)  # before the scan: its plans are the range as planned
    found = collect(source, options, err)
    _report(found, where, start, err)
    if not found.events:
        options = _whole_id(options, found.candidates, read_again is not None, err)
        assert read_again is not None  # else _whole_id raised
        found = collect(read_again(), options, err)
        _report(found, where, start, err)
        if not found.events:
            raise NothingFound(f"no events found for '{options.wanted}'")
    trace = build_trace(options.wanted, found.events)
    for note in trace.notes:
        print(f"evtui trace: note: {note}", file=err)
    emit(trace, options.format, out, found.scan.problems)


def _report(found: Found, where: str, start: Position, err: TextIO) -> None:
    result = found.scan
    rate = result.scanned / max(result.seconds, 1e-6)
    jobs = f" in {found.jobs} processes" if found.jobs > 1 else ""
    for note in found.notes + result.problems.lines("searched"):
        print(f"evtui trace: note: {note}", file=err)
    print(
        f"evtui trace: scanned {plural(result.scanned, 'event')} from {where} "
        f"(from {describe(start)}) in {result.seconds:.2f} s{jobs} ({rate:,.0f} events/s); "
        f"stopped: {result.reason}; found {len(found.events):,}",
        file=err,
    )


def _whole_id(
    options: TraceOptions, candidates: Candidates, can_read_again: bool, err: TextIO
) -> TraceOptions:
    """The options for the one id ``options.wanted`` starts; raises when there is none."""
    wanted = options.wanted
    whole = candidates.only()
    if whole is not None and can_read_again:
        print(
            f"evtui trace: no id is '{wanted}' whole; it is the start of {shown_id(whole)} "
            "alone: reading the range again for it",
            file=err,
        )
        return replace(options, wanted=whole)
    if whole is not None:
        raise NothingFound(f"no events found for '{wanted}' (it is the start of {whole})")
    if len(candidates):
        raise UsageError(candidates.describe(wanted))
    short = len(wanted) < MIN_PREFIX
    hint = f" (an id shorter than {MIN_PREFIX} characters is matched whole)" if short else ""
    raise NothingFound(f"no events found for '{wanted}'{hint}")


def _rereader(source: Source) -> Callable[[], Source] | None:
    """A way to read the range ``source`` planned once more (a Kafka source only)."""
    from evtui.sources.kafka import KafkaSource

    if not isinstance(source, KafkaSource) or not source.plans:
        return None
    plans = [replace(plan) for plan in source.plans.values()]
    config, until, timeout = source.config, source.until, source.timeout

    def reopen() -> Source:
        fresh = [replace(plan) for plan in plans]
        topics = sorted({plan.topic for plan in fresh})
        return KafkaSource(config, topics, until=until, timeout=timeout, plans=fresh).open()

    return reopen
