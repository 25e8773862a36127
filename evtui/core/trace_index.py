"""The live console's bounded trace index: :class:`TraceIndex`.

The events the console keeps, found by correlation, trace or event id; a
transaction's members are the closure :class:`~evtui.core.trace_collect.TraceCollector`
describes, followed through the link tables of :mod:`evtui.core.trace_links`.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from dataclasses import dataclass

from evtui.core import native
from evtui.core.event import Event
from evtui.core.idsearch import Candidates, IdPrefix, search_keys
from evtui.core.trace_links import BY_CAUSE, BY_ID, Links, Postings, in_time_order


@dataclass(frozen=True)
class Search:
    """What :meth:`TraceIndex.search` found: the id searched, its events, the ids it starts."""

    wanted: str  # the id given, or the whole id it is the only start of
    events: list[Event]
    candidates: Candidates  # ids starting with what was given (looked for only when needed)


@dataclass(frozen=True)
class IndexStats:
    kept: int
    evicted: int
    correlation_ids: int


class TraceIndex:
    """Bounded index from correlation / trace / event id to kept events (the live console).

    Events live in a ring of ``max_events``; the oldest is evicted (counted)
    when a new one arrives at the limit, or earlier by :meth:`expire`. Events
    with no id at all are not kept.
    """

    def __init__(self, max_events: int = 1_000_000) -> None:
        if max_events < 1:
            raise ValueError("max_events must be >= 1")
        self.max_events = max_events
        self._ring: list[Event | None] = []
        native.untrack_ring(self._ring)  # full collections need not visit every slot
        self._stamps = array("q")  # beside each slot: the stamp it was added with
        self._seq = 0  # the sequence number the next event gets
        self._base = 0  # the oldest live sequence number
        self._corr = Postings(recent=True)  # most recently added to last
        self._trace = Postings()  # trace ids that are not also the correlation id
        self._links = Links()
        self.evicted = 0

    @property
    def kept(self) -> int:
        return self._seq - self._base

    @property
    def stats(self) -> IndexStats:
        return IndexStats(self.kept, self.evicted, len(self._corr))

    def add(self, event: Event, stamp: int = 0) -> None:
        """Keep ``event`` (evicting the oldest at the limit); ``stamp`` is for :meth:`expire`."""
        ids = event.ids
        if ids.event_id is None and ids.correlation_id is None and not ids.causation_ids:
            return
        seq = self._seq
        self._seq = seq + 1
        ring = self._ring
        if len(ring) < self.max_events:
            ring.append(event)
            self._stamps.append(stamp)
        else:
            slot = seq % self.max_events
            if seq - self._base >= self.max_events:  # full: the oldest goes
                self._forget(ring[slot], self._base)  # type: ignore[arg-type]
                self._base += 1
            ring[slot] = event
            self._stamps[slot] = stamp
        if ids.correlation_id:
            self._corr.add(ids.correlation_id, seq)
        if ids.trace_id and ids.trace_id != ids.correlation_id:
            self._trace.add(ids.trace_id, seq)
        self._links.add(ids, seq)

    def expire(self, before: int) -> int:
        """Forget the oldest events added with a stamp below ``before``; returns how many.

        The console stamps each event with its place in the tail's window and
        expires what the window evicted: when indexing samples a fast stream,
        the ring would otherwise keep events long after the window let them go
        (memory bounded by the window, not by the index's own limit).
        """
        ring, stamps, cap = self._ring, self._stamps, self.max_events
        base, end = self._base, self._seq
        while base < end and stamps[base % cap] < before:
            slot = base % cap
            self._forget(ring[slot], base)  # type: ignore[arg-type]
            ring[slot] = None
            base += 1
        done = base - self._base
        self._base = base
        return done

    def _forget(self, event: Event, seq: int) -> None:
        ids = event.ids
        self.evicted += 1
        if ids.correlation_id:
            self._corr.trim(ids.correlation_id, seq)
        if ids.trace_id and ids.trace_id != ids.correlation_id:
            self._trace.trim(ids.trace_id, seq)
        self._links.trim(ids, seq)

    def settle(self) -> int:
        """Take the index's maps off the collector's lists again (after a run of adds).

        They map ids (str, tuples of str) to ints and to untracked lists of ints:
        nothing in them can be part of a cycle. CPython tracks a dict again when a
        list or a new tuple goes in, and every full collection then visits each
        entry (bench/soak: four maps of 35,000-200,000 entries were half of what a
        pass visited). Returns how many maps were tracked.
        """
        maps = [self._corr.map, self._trace.map, *(t.map for t in self._links.tables)]
        return native.untrack_acyclic(maps, dict)

    def lookup(self, wanted: str) -> list[Event]:
        """The transaction's kept events, in time order.

        Membership as :class:`~evtui.core.trace_collect.TraceCollector` decides it.
        """
        ring = self._ring
        base = self._base  # the oldest live sequence number
        cap = self.max_events
        found: set[int] = set()
        work: list[int] = []

        def visit(seqs: Iterable[int]) -> None:
            for s in seqs:
                if s >= base and s not in found:
                    found.add(s)
                    work.append(s)

        for key in search_keys(wanted):
            visit(self._corr.get(key))
            visit(self._trace.get(key))
        visit(self._links.seeds(wanted))
        links = self._links
        while work:
            visit(links.linked(ring[work.pop() % cap].ids, take=False))
        return in_time_order(ring[s % cap] for s in found)

    def search(self, wanted: str) -> Search:
        """The events of ``wanted``, else of the one kept id it is the start of.

        A whole id wins; a prefix (see :class:`IdPrefix`) stands for an id only
        when it is the start of no other; ``candidates`` names them otherwise.
        """
        events = self.lookup(wanted)
        if events:
            return Search(wanted, events, Candidates())
        prefix = IdPrefix.of(wanted)
        found = self.candidates(prefix) if prefix is not None else Candidates()
        whole = found.only()
        if whole is None:
            return Search(wanted, [], found)
        return Search(whole, self.lookup(whole), found)

    def ids(self, prefix: str, limit: int = 20) -> list[str]:
        """Correlation ids starting with ``prefix`` (as :class:`IdPrefix` matches), newest first."""
        out: list[str] = []
        if limit <= 0:
            return out
        match = IdPrefix(prefix).matches
        for corr in reversed(self._corr.map):
            if match(corr):  # type: ignore[arg-type]
                out.append(corr)  # type: ignore[arg-type]
                if len(out) >= limit:
                    break
        return out

    def candidates(self, prefix: IdPrefix) -> Candidates:
        """The kept ids (correlation, trace, event and cause ids) starting with ``prefix``.

        Correlation ids most recently seen first. Reads every id the index
        holds: for a user's search, not for every event.
        """
        found = Candidates()
        match = prefix.matches
        by_id, by_cause = self._links.tables[BY_ID], self._links.tables[BY_CAUSE]
        for table in (reversed(self._corr.map), self._trace.map, by_id.map, by_cause.map):
            for key in table:
                if match(key):  # type: ignore[arg-type]
                    found.add(key)  # type: ignore[arg-type]
                    if found.more:
                        return found
        return found
