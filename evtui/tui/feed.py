"""A running tail: a source drained into a bounded store, and the view over it.

No Textual here: the app calls :meth:`Feed.drain` on a timer (never once per
event), so the UI thread spends a bounded slice of each tick on new events.
When more arrives than a tick may take, the rest of what is queued is dropped
and counted (``sampled_out``): the view says it is sampling instead of falling
further and further behind the stream.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from evtui.core.event import Event
from evtui.core.flow import FlowModel
from evtui.core.native import fill_ids, untrack
from evtui.core.positions import Kind, Position
from evtui.core.problems import RecordProblems
from evtui.core.store import EventStore
from evtui.core.tailview import Predicate, TailView
from evtui.core.traces import TraceIndex
from evtui.core.violations import LiveCheck
from evtui.sources.base import TP, Problem, Source, SourceState, ends_of

OVERRUNS_BEFORE_SAMPLING = 3
INDEX_BACKLOG_MAX = 5_000  # more waiting than this: index the newest, count the rest
CHECK_BACKLOG_MAX = 5_000  # the same for the ordering checks
CHECK_CHUNK = 256  # events checked in one call (the time budget is looked at between calls)
FLOW_CHUNK = 256  # events the flow model counts in one call (the same)
# The flow model (in the extension: under a microsecond an event) catches up on bursts
# over a few ticks: a drain takes a source's batches of thousands at once.
FLOW_BACKLOG_MAX = 20_000
# A source that is not live (a recording) is never sampled: it waits for the view, and
# every event is indexed and checked, with more of each tick (bench: 9 us and 4 us/event).
FILE_INDEX_BUDGET_S = 0.015
FILE_CHECK_BUDGET_S = 0.010


@dataclass
class FeedStats:
    received: int = 0  # events handed over by the source
    sampled_out: int = 0  # dropped because the UI could not keep up
    finished: bool = False
    not_indexed: int = 0  # events the trace index skipped because indexing fell behind
    not_flowed: int = 0  # events the flow model skipped because it fell behind
    rates: deque = field(default_factory=lambda: deque(maxlen=20))  # (monotonic, arrived)


class Feed:
    """Drains ``source`` into ``store``; ``view`` holds the rows to show."""

    def __init__(
        self,
        source: Source,
        topics: list[str],
        start: Position,
        *,
        capacity: int = 200_000,
        predicate: Predicate | None = None,
    ) -> None:
        self.source = source
        self.topics = topics
        self.start = start
        self.store = EventStore(capacity)
        self.view = TailView(self.store, predicate)
        self.stats = FeedStats()
        self.paused = False
        self._overruns = 0  # consecutive ticks that ran out of time with events still queued
        self._indexed_upto = 0  # next sequence for the trace index
        self._flowed_upto = 0  # next sequence for the flow model
        self._checked_upto: int | None = None  # next sequence for the ordering checks
        self.holes: deque[tuple[int, int]] = deque(maxlen=10_000)  # (sequence, events dropped)
        # (sequence, partitions): read to their end once the events before sequence were
        self.rests: deque[tuple[int, tuple[TP, ...]]] = deque(maxlen=10_000)
        self.lossless = bool(getattr(source, "lossless", False))  # never sample (a file)
        self.record_problems = RecordProblems()  # records the tick's steps could not read

    @property
    def state(self) -> SourceState:
        return self.source.state

    def drain(self, budget_s: float = 0.03) -> int:
        """Take what the source has, within ``budget_s``; returns the events kept."""
        if self.paused or self.stats.finished:
            self._sample_rate()
            return 0
        deadline = time.perf_counter() + budget_s
        kept = taken = 0
        while True:
            batch = self.source.get_batch(0)
            if batch is None:
                self.stats.finished = True
                break
            if batch:
                taken += len(batch)
                fill_ids(batch)  # the checks and the trace index read every event's ids
                untrack(batch)  # kept for long: full collections must not walk the window
                kept += self.store.append(batch)
            self._note_ends(batch)
            if not batch:
                self._overruns = 0  # caught up
                break
            if time.perf_counter() >= deadline:
                self._overruns += 1
                behind = self._overruns >= OVERRUNS_BEFORE_SAMPLING  # for a while, not a blip
                if behind and not self.lossless:
                    dropped = self._drop_queued()
                    self.stats.sampled_out += dropped
                    if dropped:
                        self.holes.append((self.store.next, dropped))
                break
        self.stats.received += taken
        self._sample_rate()
        return kept

    def _note_ends(self, batch: list) -> None:
        """Partitions the batch says were read to their end: told to the checks in order."""
        ends = ends_of(batch)
        if ends:
            self.rests.append((self.store.next, ends))

    def _drop_queued(self) -> int:
        """Events already queued when a tick runs out of time: dropped, and counted."""
        dropped = 0
        for _ in range(64):
            batch = self.source.get_batch(0)
            if batch is not None:
                self._note_ends(batch)
            if not batch:
                if batch is None:
                    self.stats.finished = True
                break
            dropped += len(batch)
        return dropped

    def filter_step(self, budget_s: float = 0.02) -> int:
        return self.view.advance(budget_s)

    def index_step(self, index: TraceIndex, budget_s: float = 0.004) -> int:
        """Add new events to the trace index within ``budget_s``; returns how many.

        Live input faster than indexing (identity extraction costs microseconds
        per event) is sampled like the filter: the newest events are indexed and
        the rest counted in ``stats.not_indexed``, never silently lost.
        """
        index.expire(self.store.first)  # what the window let go, the index lets go too
        self._indexed_upto, skipped, done = self._offer_step(
            self._indexed_upto, index.add, budget_s
        )
        if done:
            index.settle()  # its maps: off the collector's lists (see TraceIndex.settle)
        self.stats.not_indexed += skipped
        return done

    def flow_step(self, flow: FlowModel, budget_s: float = 0.002) -> int:
        """Add new events to the flow model within ``budget_s``, a chunk at a time; returns
        how many. A backlog is sampled like the trace index's (counted in
        ``stats.not_flowed``)."""
        store = self.store
        seq, skipped = self._catch_up(self._flowed_upto, FLOW_BACKLOG_MAX)
        self.stats.not_flowed += skipped
        if self.lossless:
            budget_s = max(budget_s, FILE_INDEX_BUDGET_S)
        deadline = time.perf_counter() + budget_s
        start, end = seq, store.next
        while seq < end:
            events = store.slice(seq, min(end, seq + FLOW_CHUNK))
            for index, exc in flow.offer_batch(events):  # one record's failure, never ours
                self.record_problems.failed(events[index], exc)
            flow.schemas.offer_batch(events, self.record_problems.failed)
            seq += len(events)
            if time.perf_counter() >= deadline:
                break
        self._flowed_upto = seq
        return seq - start

    def _offer_step(
        self, upto: int, offer: Callable[[Event, int], object], budget_s: float
    ) -> tuple[int, int, int]:
        """Offer the events from ``upto`` on, each with its sequence, within ``budget_s`` (a
        live backlog beyond :data:`INDEX_BACKLOG_MAX` skipped): (where to go on, how many
        skipped, offered)."""
        store = self.store
        seq, skipped = self._catch_up(upto, INDEX_BACKLOG_MAX)
        if self.lossless:
            budget_s = max(budget_s, FILE_INDEX_BUDGET_S)
        deadline = time.perf_counter() + budget_s
        start, end = seq, store.next
        while seq < end:
            event = store[seq]
            try:
                offer(event, seq)
            except Exception as exc:  # one record's failure, never the console's
                self.record_problems.failed(event, exc)
            seq += 1
            if seq % 64 == 0 and time.perf_counter() >= deadline:
                break
        return seq, skipped, seq - start

    def _catch_up(self, upto: int, backlog_max: int) -> tuple[int, int]:
        """Where a step over the store goes on from ``upto``, and how many it skips: those
        evicted meanwhile and, for a live source, all but the newest ``backlog_max``."""
        store = self.store
        seq = max(upto, store.first)
        if not self.lossless and store.next - seq > backlog_max:
            seq = store.next - backlog_max
        return seq, seq - upto

    def check_step(self, live: LiveCheck, budget_s: float = 0.006) -> int:
        """Offer new events to the ordering checks within ``budget_s``; returns how many.

        Like :meth:`index_step`, a backlog beyond :data:`CHECK_BACKLOG_MAX` is
        skipped; every hole in what is checked (events dropped by sampling,
        evicted or skipped) restarts the detectors after it and is counted,
        so a hole never shows as a gap or a regression.
        """
        store = self.store
        if self._checked_upto is None:
            self._checked_upto = store.first
            compacted = getattr(self.source, "compacted", frozenset())
            # a recording made from mid-topic starts mid-stream even at its beginning
            from_start = self.start.kind is Kind.BEGINNING
            from_start = from_start and getattr(self.source, "from_log_start", True)
            reading = getattr(self.source, "reading", None)
            partitions = reading() if reading is not None else ()
            live.begin(from_start=from_start, compacted=compacted, partitions=partitions)
        seq, skipped = self._catch_up(self._checked_upto, CHECK_BACKLOG_MAX)
        live.skip(skipped)
        if self.lossless:
            budget_s = max(budget_s, FILE_CHECK_BUDGET_S)
        deadline = time.perf_counter() + budget_s
        start, end, holes, rests = seq, store.next, self.holes, self.rests
        while seq < end:
            while holes and holes[0][0] <= seq:
                live.skip(holes.popleft()[1])
            while rests and rests[0][0] <= seq:
                live.rest(rests.popleft()[1])
            upto = min(end, seq + CHECK_CHUNK)  # a chunk ends where a hole or rest begins
            if holes:
                upto = min(upto, holes[0][0])
            if rests:
                upto = min(upto, rests[0][0])
            events = store.slice(seq, upto)
            done, exc = live.offer_batch(events)
            if exc is not None:  # one record's failure, never the console's
                live.problems.failed(events[done - 1], exc)
                live.skip(1)  # a hole: the checks start again after it (no false gap)
            seq += done
            if time.perf_counter() >= deadline:
                break
        while rests and rests[0][0] <= seq:
            live.rest(rests.popleft()[1])
        self._checked_upto = seq
        if self.stats.finished and seq == store.next:
            live.finish()
        return seq - start

    def _sample_rate(self) -> None:
        arrived = self.stats.received + self.stats.sampled_out
        self.stats.rates.append((time.monotonic(), arrived))

    @property
    def rate(self) -> float:
        """Events/s arriving (kept or dropped) over the last two seconds."""
        rates = self.stats.rates
        if len(rates) < 2:
            return 0.0
        (t0, n0), (t1, n1) = rates[0], rates[-1]
        return (n1 - n0) / (t1 - t0) if t1 > t0 else 0.0

    def problems(self) -> list[Problem]:
        return self.source.problems()

    def stop(self) -> None:
        self.source.stop()
