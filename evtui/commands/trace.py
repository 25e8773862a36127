"""``evtui trace ID``: find one transaction's events on the cluster and show its causal graph.

For each partition the scan seeks to the start time with the broker's
offsets-for-times, reads to the end bound (the end when the command started,
by default), and offers every event to a collector that keeps the events of
the transaction: those carrying the id as correlation, trace or event id and
those linked to them through causation ids or span parentage.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import TextIO

from evtui.core.output import dumps
from evtui.core.positions import Position, describe
from evtui.errors import EvtuiError, UsageError
from evtui.sources.base import Source

FORMATS = ("tree", "json", "dot", "mermaid")
PROGRESS_EVERY_S = 0.2
SCAN_SWITCH_INTERVAL_S = 0.05


class NothingFound(EvtuiError):
    """The scan finished without finding the transaction (exit code 1)."""


@dataclass
class TraceOptions:
    wanted: str
    format: str = "tree"
    max_scan: int | None = None  # stop after scanning this many events
    max_events: int = 100_000  # events kept for the trace


@dataclass
class ScanResult:
    scanned: int
    seconds: float
    reason: str


def check_format(value: str) -> str:
    if value not in FORMATS:
        raise UsageError(f"invalid --format '{value}': expected {', '.join(FORMATS)}")
    return value


def check_id(value: str) -> str:
    text = value.strip()
    if not text:
        raise UsageError("invalid ID: it is empty")
    if len(text) > 256:
        raise UsageError("invalid ID: longer than 256 characters")
    return text


def scan(source: Source, collector: object, max_scan: int | None, err: TextIO) -> ScanResult:
    """Offer every event up to the bound (or ``max_scan``); progress on a terminal's stderr."""
    offer = collector.offer  # type: ignore[attr-defined]
    progress = Progress(err)
    scanned, started = 0, time.monotonic()
    reason = "reached the end bound"
    try:
        while True:
            batch = source.get_batch(0.2)
            if batch is None:
                break
            for event in batch:
                offer(event)
            scanned += len(batch)
            progress.show(scanned, source)
            if max_scan is not None and scanned >= max_scan:
                reason = f"scan limit of {max_scan:,} events reached"
                break
            _raise_errors(source)
    finally:
        progress.clear()
        source.stop()
    _raise_errors(source)
    return ScanResult(scanned, time.monotonic() - started, reason)


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
        now = time.monotonic()
        if not self.enabled or now - self._last < PROGRESS_EVERY_S:
            return
        self._last = now
        stats = source.stats
        done = f"{stats.partitions_done}/{stats.partitions} partitions done"
        rate = scanned / max(now - self._started, 1e-6)
        self.err.write(f"\r\x1b[Kevtui trace: scanned {scanned:,} events ({rate:,.0f}/s), {done}")
        self.err.flush()

    def clear(self) -> None:
        if self.enabled:
            self.err.write("\r\x1b[K")
            self.err.flush()


def render(trace: object, fmt: str) -> str:
    from evtui.core import traces

    if fmt == "json":
        return dumps(trace.to_json())  # type: ignore[attr-defined]
    renderer = {
        "tree": traces.render_tree,
        "dot": traces.render_dot,
        "mermaid": traces.render_mermaid,
    }
    return renderer[fmt](trace).rstrip("\n")  # type: ignore[arg-type]


def run_trace(
    source: Source,
    options: TraceOptions,
    where: str,
    start: Position,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> None:
    from evtui.core.traces import TraceCollector, build_trace

    collector = TraceCollector(options.wanted, max_events=options.max_events)
    # Two busy threads (the source's and this one) hand the GIL back and forth
    # every 5 ms by default; longer slices cost less switching on a batch scan.
    previous = sys.getswitchinterval()
    sys.setswitchinterval(SCAN_SWITCH_INTERVAL_S)
    try:
        result = scan(source, collector, options.max_scan, err)
    finally:
        sys.setswitchinterval(previous)
    events = collector.result()
    rate = result.scanned / max(result.seconds, 1e-6)
    summary = (
        f"evtui trace: scanned {result.scanned:,} events from {where} "
        f"(from {describe(start)}) in {result.seconds:.2f} s ({rate:,.0f} events/s); "
        f"stopped: {result.reason}; found {len(events):,}"
    )
    for note in collector.notes:
        print(f"evtui trace: note: {note}", file=err)
    print(summary, file=err)
    if not events:
        raise NothingFound(f"no events found for '{options.wanted}'")
    trace = build_trace(options.wanted, events)
    for note in trace.notes:
        print(f"evtui trace: note: {note}", file=err)
    print(render(trace, options.format), file=out)
