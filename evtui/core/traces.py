"""Causal traces: which events make up one transaction, and what caused what.

Membership (:class:`TraceCollector`, :meth:`TraceIndex.lookup`): an event belongs
to the transaction ``wanted`` when ``wanted`` (or its canonical trace form, see
:mod:`evtui.core.idsearch`) is its correlation id or trace id, when ``wanted``
is its event id or it names ``wanted`` as a cause, or when it is linked to an
event that belongs, in either direction and whatever the scan order: its
causation ids name a member's event id, a member's causation ids name its event
id, or (within one trace id) its parent span is a member's span or the reverse.
The same closure is used by both; the collector keeps the events that may still
link later (they have an event id, causes or a span) in a bounded pending map
and pulls them in when a member links to them. Trace ids are compared in their
canonical form (:func:`evtui.core.ids.canonical_trace_id`): extraction gives
every event its trace id in that form, so a B3 64-bit id and its W3C padding
are one key in every table here. While no event carries ``wanted`` whole, both
gather the ids that start with it (:class:`~evtui.core.idsearch.IdPrefix`).

The graph (:func:`build_trace`): nodes are event refs (``topic[partition]@offset``),
edges run cause -> effect.

* Explicit edges come from causation ids (matched by event id) and from span
  parentage (``parent_span_id`` -> the event with that span id in the same trace
  id). When several events carry one event id (duplicates) or one span, links go
  to the earliest and a note says so. An event naming itself is ignored (noted).
* A cause id no event carries is an orphan: listed in ``orphans``, the event
  stays a root marked as such. A parent span not among the events is not an
  orphan (spans outside Kafka, such as an HTTP handler's, are normal); noted.
* Inferred edges (kind ``inferred``), only on strong evidence. ``P ~> E`` when
  all hold:

  1. ``E`` names no cause at all (no causation id, no parent span): it is not
     linked explicitly and is no orphan;
  2. ``E`` has a trace id and exactly one event of that trace id, ``P``, is
     strictly earlier than ``E`` (so only the events of the trace's second
     timestamp can be inferred: later ones could be a chain or a fan-out, and
     timing cannot tell);
  3. ``E`` is no copy of ``P`` (same event id), not in ``P``'s span (siblings of
     one producer span) and not from ``P``'s own service when both are known
     (one service publishing twice is more likely siblings);
  4. ``E`` is not already an explicit ancestor of ``P`` (no cycle is made).

* Cycles (bad data) are found with strongly connected components (linear, never
  a hang); one cycle per component is reported. Each component is searched
  depth-first from where causes enter it (else from its first event), children
  in time order, and the back edges of that search are dropped (noted) for the
  DAG that the critical path, the roots, the tree and the waterfall use, so the
  component hangs off its entry. ``graph`` keeps every edge.
* The critical path is the root -> leaf path of the largest total latency
  (ties: more hops, then the earlier leaf). Latencies telescope, so that is the
  connected root/leaf pair furthest apart in time.

Notes are capped per kind (the rest counted). Time order is
``(timestamp, topic, partition, offset)``, which also breaks ties everywhere.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import networkx as nx

from evtui.core import native
from evtui.core.event import Event, restore_event
from evtui.core.ids import EventIds
from evtui.core.idsearch import Candidates, IdPrefix, search_keys
from evtui.core.native import fill_ids
from evtui.core.problems import RecordProblems, offer_all
from evtui.core.text import plural

EXPLICIT, INFERRED = "explicit", "inferred"

NOTES_PER_KIND = 20  # notes of one kind kept verbatim; the rest are counted
MAX_INDENT = 40  # tree levels indented; deeper lines show their depth instead


def time_key(event: Event) -> tuple[int, str, int, int]:
    """The order of events everywhere here: time, then topic, partition, offset."""
    return (event.timestamp, event.topic, event.partition, event.offset)


def in_time_order(events: Iterable[Event]) -> list[Event]:
    """The events sorted by :func:`time_key`, de-duplicated by ref."""
    unique = {(e.topic, e.partition, e.offset): e for e in events}
    return sorted(unique.values(), key=time_key)


# -- postings: sequence numbers by key, bounded by trimming -----------------------------------


_untrack_ints = native.untrack_ints()


class _Postings:
    """Ascending sequence numbers by key: an int for one (most keys), a list for more.

    ``trim(key, seq)`` forgets entries up to ``seq`` (first in, first out), in
    amortised constant time; readers skip entries that are no longer live.
    With ``recent`` a key moves to the end of the map when it is added to.
    """

    __slots__ = ("map", "recent")

    def __init__(self, recent: bool = False) -> None:
        self.map: dict[Hashable, int | list[int]] = {}
        self.recent = recent

    def add(self, key: Hashable, seq: int) -> None:
        m = self.map
        if self.recent:
            v = m.pop(key, None)
        else:
            v = m.setdefault(key, seq)  # one probe for a new key (most keys)
            if v is seq:
                return
        if v is None:
            m[key] = seq
        elif type(v) is int:
            m[key] = v = [v, seq]
            _untrack_ints(v)  # full collections need not walk tens of thousands of these
        else:
            v.append(seq)
            if self.recent:
                m[key] = v

    def get(self, key: Hashable) -> Sequence[int]:
        v = self.map.get(key)
        if v is None:
            return ()
        return (v,) if type(v) is int else v

    def pop(self, key: Hashable) -> Sequence[int]:
        v = self.map.pop(key, None)
        if v is None:
            return ()
        return (v,) if type(v) is int else v

    def trim(self, key: Hashable, seq: int) -> None:
        m = self.map
        v = m.get(key)
        if v is None:
            return
        if type(v) is int:
            if v <= seq:
                del m[key]
        elif v[-1] <= seq:
            del m[key]
        else:
            i = bisect_right(v, seq)
            if i and 2 * i >= len(v):
                del v[:i]

    def __len__(self) -> int:
        return len(self.map)


def _keys(ids: EventIds) -> Iterator[tuple[int, Hashable]]:
    """(table, key) for every way ``ids`` can be found: see ``_ID`` .. ``_PARENT``."""
    if ids.event_id:
        yield _ID, ids.event_id
    for cause in ids.causation_ids:
        yield _CAUSE, cause
    trace = ids.trace_id
    if trace:
        if ids.span_id:
            yield _SPAN, (trace, ids.span_id)
        if ids.parent_span_id:
            yield _PARENT, (trace, ids.parent_span_id)


_ID, _CAUSE, _SPAN, _PARENT = range(4)


class _Links:
    """The four link tables: by event id, cause id, (trace, span), (trace, parent span)."""

    __slots__ = ("tables",)

    def __init__(self) -> None:
        self.tables = (_Postings(), _Postings(), _Postings(), _Postings())

    def add(self, ids: EventIds, seq: int) -> None:
        tables = self.tables
        for table, key in _keys(ids):
            tables[table].add(key, seq)

    def trim(self, ids: EventIds, seq: int) -> None:
        tables = self.tables
        for table, key in _keys(ids):
            tables[table].trim(key, seq)

    def linked(self, ids: EventIds, take: bool) -> Iterator[int]:
        """Sequence numbers of what ``ids`` links to (taken out of the tables with ``take``)."""
        by_id, by_cause, by_span, by_parent = self.tables
        read = (lambda t, k: t.pop(k)) if take else (lambda t, k: t.get(k))
        if ids.event_id:
            yield from read(by_cause, ids.event_id)  # effects naming it
        for cause in ids.causation_ids:
            yield from read(by_id, cause)  # its causes
        trace = ids.trace_id
        if trace:
            if ids.span_id:
                yield from read(by_parent, (trace, ids.span_id))  # child spans
            if ids.parent_span_id:
                yield from read(by_span, (trace, ids.parent_span_id))  # the parent span

    def seeds(self, wanted: str) -> Iterator[int]:
        """Events with event id ``wanted`` and events naming ``wanted`` as a cause."""
        yield from self.tables[_ID].get(wanted)
        yield from self.tables[_CAUSE].get(wanted)


# -- streaming collection ---------------------------------------------------------------------


def collector_notes(max_events: int, not_kept: int, dropped: int) -> list[str]:
    """What a scan's collectors left out, as notes for the user."""
    notes = []
    if not_kept:
        notes.append(f"stopped keeping events after {max_events:,} ({not_kept:,} more belonged)")
    if dropped:
        notes.append(f"{dropped:,} events kept only as possible causes were dropped (limit)")
    return notes


# What a collector holds of an event that may still link to a member: its ids, topic,
# partition, offset, timestamp, timestamp type and key (a third of the record's memory).
_Held = tuple[EventIds, str, int, int, int, int, bytes | None]


def _hold(event: Event, ids: EventIds) -> _Held:
    return (ids, event.topic, event.partition, event.offset, event.timestamp,
            event.timestamp_type, event.key)  # fmt: skip


def _light(entry: _Held) -> Event:
    """The held event again (:meth:`Event.identity`: no value, no headers, its ids)."""
    ids, topic, partition, offset, timestamp, timestamp_type, key = entry
    return restore_event(topic, partition, offset, timestamp, timestamp_type, key, None, (), ids)


class TraceCollector:
    """Streaming: offer every scanned event; keeps those of one transaction, bounded.

    An event joins when it carries the wanted id (correlation, trace or event
    id) or links to a member: it names a member as its cause, a member names
    it, or their spans are parent and child. An event that may still link to a
    later member is held, in a plain list: indexing a million held events cost
    a quarter of a scan's time (bench/trace_scan), and nearly all of them never
    join. :meth:`settle` (run by :meth:`result`) goes over the held events
    until none joins; after :data:`SETTLE_PASSES` passes it indexes what is
    left, so a long causal chain running against the scan order costs one
    index, not a pass per link.

    ``max_events`` bounds the events kept (later members are counted, not kept:
    ``truncated``); ``max_pending`` bounds the events held (the oldest are
    dropped first, counted in ``notes``). Until an event carries ``wanted``,
    the ids starting with it (when it is long enough to be a prefix) are
    gathered in ``candidates``, for a caller that then searches the one it
    stands for; once one does, that stops (a whole id wins over a prefix).
    Held events keep their identity, key and time only, as a plain tuple (:func:`_hold`;
    an :class:`Event` again, without its value, when one joins late). Collectors that each scanned a
    share of the partitions settle on the members one collector would keep with
    :meth:`admitted` and :meth:`adopt`.
    """

    def __init__(
        self, wanted: str, *, max_events: int = 100_000, max_pending: int = 1_000_000
    ) -> None:
        self.wanted = wanted
        self.max_events = max_events
        self.max_pending = max_pending
        self._keys = search_keys(wanted)  # correlation or trace ids that are the wanted one
        self._prefix = IdPrefix.of(wanted)  # None once a member is found
        self._starts = None if self._prefix is None else self._prefix.starts  # the hot path's
        self.candidates = Candidates()  # ids starting with ``wanted`` (while no member)
        self._members: dict[tuple[str, int, int], Event] = {}
        self._ids: set[str] = {wanted}  # event ids of members (and the wanted id)
        self._causes: set[str] = set()  # cause ids members name
        self._spans: set[tuple[str, str]] = set()  # (trace, span) of members
        self._parents: set[tuple[str, str]] = set()  # (trace, parent span) members name
        self._held: deque[_Held] = deque()  # in scan order (see _hold)
        self._registered: list[EventIds] = []  # every member's ids (and adopted ones)
        self._checked = 0  # members registered when the held events were last checked
        self._admitted: list[EventIds] = []  # ids of members since admitted() was called
        self.dropped = 0  # held events dropped at the limit
        self.not_kept = 0  # members beyond max_events

    @property
    def truncated(self) -> bool:
        """True when events of the transaction were seen but not kept (``max_events``)."""
        return self.not_kept > 0

    @property
    def notes(self) -> list[str]:
        return collector_notes(self.max_events, self.not_kept, self.dropped)

    @property
    def pending(self) -> int:
        """Events held as possible links (before :meth:`settle`, some may belong)."""
        return len(self._held)

    def offer(self, event: Event) -> bool:
        """Look at one scanned event; True when it belongs to the transaction so far."""
        ids = event.ids
        keys = self._keys
        if ids.correlation_id in keys or ids.trace_id in keys or self._linked(ids):
            self._admit(event)
            return True
        if self._starts is not None:
            self._gather(ids)
        if (
            ids.event_id is not None
            or ids.causation_ids
            or (ids.trace_id and (ids.span_id or ids.parent_span_id))
        ):
            held = self._held
            if len(held) >= self.max_pending:
                held.popleft()
                self.dropped += 1
            held.append(_hold(event, ids))
        return False

    def offer_batch(self, batch: list[Event], problems: RecordProblems) -> None:
        """:meth:`offer` every event of ``batch``, in one native call per event that joins.

        The same as offering each (and the Python implementation does just that,
        one record's failure being its problem): the extension reads the member
        sets and stops at each event that joins, which Python admits.
        """
        if not native.available():
            offer_all(self.offer, batch, problems)
            return
        fill_ids(batch)
        at, end = 0, len(batch)
        while at < end:
            starts = self._starts
            stop, hits, dropped = native.collector_scan(
                batch, at, self._keys, self.wanted, self._ids, self._causes, self._spans,
                self._parents, starts, self._held, self.max_pending,
            )  # fmt: skip
            self.dropped += dropped
            for i in hits:
                self.candidates.update(self._prefix.hits(batch[i].ids))  # type: ignore[union-attr]
            if stop < end:
                self._admit(batch[stop])
            at = stop + 1

    def _gather(self, ids: EventIds) -> None:
        """Remember the ids of ``ids`` that start with the wanted text (a cheap test first)."""
        starts = self._starts
        eid, corr, causes, trace = ids[:4]
        hit = (
            (eid is not None and eid.startswith(starts))  # type: ignore[arg-type]
            or (corr is not None and corr.startswith(starts))  # type: ignore[arg-type]
            or (trace is not None and trace.startswith(starts))  # type: ignore[arg-type]
        )
        if not hit:
            for cause in causes:
                if cause.startswith(starts):  # type: ignore[arg-type]
                    hit = True
                    break
        if hit:
            self.candidates.update(self._prefix.hits(ids))  # type: ignore[union-attr]

    def _linked(self, ids: EventIds) -> bool:
        """True when ``ids`` is the wanted event or links to a member."""
        eid = ids.event_id
        if eid is not None and (eid == self.wanted or eid in self._causes):
            return True
        if ids.causation_ids and not self._ids.isdisjoint(ids.causation_ids):
            return True
        trace = ids.trace_id
        if trace is None:
            return False
        parent, span = ids.parent_span_id, ids.span_id
        return (parent is not None and (trace, parent) in self._spans) or (
            span is not None and (trace, span) in self._parents
        )

    def _admit(self, event: Event) -> None:
        if self._prefix is not None:  # the wanted id is whole: no prefix search
            self._prefix = self._starts = None
            self.candidates = Candidates()
        self._keep(event)
        self._register(event.ids)
        self._admitted.append(event.ids)

    def _keep(self, event: Event) -> None:
        key = (event.topic, event.partition, event.offset)
        if key in self._members:
            return
        if len(self._members) >= self.max_events:
            self.not_kept += 1
            return
        self._members[key] = event

    def _register(self, ids: EventIds) -> None:
        self._registered.append(ids)
        if ids.event_id:
            self._ids.add(ids.event_id)
        self._causes.update(ids.causation_ids)
        trace = ids.trace_id
        if trace:
            if ids.span_id:
                self._spans.add((trace, ids.span_id))
            if ids.parent_span_id:
                self._parents.add((trace, ids.parent_span_id))

    def settle(self) -> None:
        """Admit every held event linked to a member, directly or through others."""
        for _ in range(SETTLE_PASSES):
            if self._checked == len(self._registered):
                return  # no member since the last look: nothing new can link
            self._checked = len(self._registered)
            self._pass()
        if self._checked != len(self._registered):
            self._settle_indexed()

    def _pass(self) -> None:
        """One pass over the held events against the members (which grow as it goes)."""
        linked, admit = self._linked, self._admit
        keep: deque[_Held] = deque()
        for entry in self._held:
            if linked(entry[0]):
                admit(_light(entry))
            else:
                keep.append(entry)
        self._held = keep

    def _settle_indexed(self) -> None:
        """Index the held events, then follow links from every member's ids."""
        held = list(self._held)
        links = _Links()
        for seq, entry in enumerate(held):
            links.add(entry[0], seq)
        taken: set[int] = set()
        work = list(self._registered)
        while work:
            for seq in links.linked(work.pop(), take=True):
                if seq not in taken:
                    taken.add(seq)
                    self._admit(_light(held[seq]))
                    work.append(held[seq][0])
        self._checked = len(self._registered)
        self._held = deque(e for seq, e in enumerate(held) if seq not in taken)

    def admitted(self) -> list[EventIds]:
        """Ids of the members admitted since the last call, settled first (see :meth:`adopt`)."""
        self.settle()
        ids, self._admitted = self._admitted, []
        return ids

    def adopt(self, foreign: Iterable[EventIds]) -> list[EventIds]:
        """Take the members another collector found (on other partitions) as members too.

        Held events linked to them join, with everything linked to those in
        turn; returns the ids of the events that joined here. Collectors that
        scanned disjoint parts of the same range and swap :meth:`admitted` ids
        until none joins end with the members one collector would have found.
        """
        for ids in foreign:
            self._register(ids)
        return self.admitted()

    def result(self) -> list[Event]:
        """The transaction's events in time order, de-duplicated by ref."""
        self.settle()
        return sorted(self._members.values(), key=time_key)


SETTLE_PASSES = 3


# -- the live index ---------------------------------------------------------------------------


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
        self._corr = _Postings(recent=True)  # most recently added to last
        self._trace = _Postings()  # trace ids that are not also the correlation id
        self._links = _Links()
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
        """The transaction's kept events (membership as :class:`TraceCollector`), in time order."""
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
        by_id, by_cause = self._links.tables[_ID], self._links.tables[_CAUSE]
        for table in (reversed(self._corr.map), self._trace.map, by_id.map, by_cause.map):
            for key in table:
                if match(key):  # type: ignore[arg-type]
                    found.add(key)  # type: ignore[arg-type]
                    if found.more:
                        return found
        return found


# -- the graph --------------------------------------------------------------------------------


class _Notes:
    """Notes in order, at most ``NOTES_PER_KIND`` of each kind (the rest counted)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.counts: dict[str, int] = {}

    def add(self, kind: str, text: str) -> None:
        n = self.counts.get(kind, 0) + 1
        self.counts[kind] = n
        if n <= NOTES_PER_KIND:
            self.lines.append(text)

    def result(self) -> list[str]:
        extra = [
            f"... and {n - NOTES_PER_KIND:,} more {kind} notes"
            for kind, n in self.counts.items()
            if n > NOTES_PER_KIND
        ]
        return self.lines + extra


@dataclass(eq=False)
class Trace:
    """One transaction's causal graph (see the module notes for the rules)."""

    correlation_id: str
    graph: nx.DiGraph
    events: list[Event]
    orphans: list[str]
    cycles: list[list[str]]
    critical_path: list[str]
    roots: list[str]
    notes: list[str]
    missing: dict[str, list[str]] = field(default_factory=dict)  # ref -> cause ids never seen
    dropped_edges: list[tuple[str, str]] = field(default_factory=list)  # broken cycle edges
    children: dict[str, list[str]] = field(default_factory=dict)  # DAG children, time order
    index: dict[str, int] = field(default_factory=dict)  # ref -> position in ``events``

    @property
    def start_ms(self) -> int:
        return self.events[0].timestamp if self.events else 0

    def fan_out(self, ref: str) -> int:
        return self.graph.out_degree(ref) if ref in self.graph else 0

    def fan_in(self, ref: str) -> int:
        return self.graph.in_degree(ref) if ref in self.graph else 0

    def parents(self, ref: str) -> list[str]:
        """Every cause of ``ref`` in the graph, in time order."""
        order = self._order()
        return sorted(self.graph.predecessors(ref), key=order.__getitem__)

    def _order(self) -> dict[str, int]:
        if len(self.index) != len(self.events):
            self.index = {e.ref: i for i, e in enumerate(self.events)}
        return self.index

    def to_json(self) -> dict:
        order = self._order()
        graph = self.graph
        events = []
        for e in self.events:
            ref = e.ref
            attrs = graph.nodes[ref]
            events.append(
                {
                    "ref": ref,
                    "topic": e.topic,
                    "partition": e.partition,
                    "offset": e.offset,
                    "timestamp_ms": e.timestamp,
                    "key": key_text(e.key),
                    "event_id": attrs["event_id"],
                    "trace_id": attrs["trace_id"],
                    "service": attrs["service"],
                    "parents": sorted(graph.predecessors(ref), key=order.__getitem__),
                }
            )
        edges = sorted(graph.edges(data="kind"), key=lambda e: (order[e[0]], order[e[1]]))
        return {
            "correlation_id": self.correlation_id,
            "events": events,
            "edges": [[u, v, kind] for u, v, kind in edges],
            "orphans": list(self.orphans),
            "critical_path": list(self.critical_path),
            "cycles": [list(c) for c in self.cycles],
            "notes": list(self.notes),
        }


def key_text(key: bytes | None) -> str | None:
    """A key as UTF-8 text, ``0x<hex>`` when binary, None when absent."""
    if key is None:
        return None
    try:
        return key.decode("utf-8")
    except UnicodeDecodeError:
        return "0x" + key.hex()


def _first_by(
    events: Sequence[Event],
    refs: Sequence[str],
    key: Callable[[EventIds], Hashable | None],
) -> tuple[dict[Hashable, str], dict[Hashable, list[str]]]:
    """The earliest ref for each key, and every key held by several events."""
    first: dict[Hashable, str] = {}
    repeated: dict[Hashable, list[str]] = {}
    for event, ref in zip(events, refs, strict=True):
        k = key(event.ids)
        if k is None:
            continue
        seen = first.setdefault(k, ref)
        if seen != ref:
            repeated.setdefault(k, [seen]).append(ref)
    return first, repeated


def _span_key(ids: EventIds) -> tuple[str, str] | None:
    return (ids.trace_id, ids.span_id) if ids.trace_id and ids.span_id else None


def _refs_text(refs: list[str], limit: int = 5) -> str:
    more = f" (+{len(refs) - limit} more)" if len(refs) > limit else ""
    return ", ".join(refs[:limit]) + more


class _Builder:
    """The steps of :func:`build_trace` over one set of events."""

    def __init__(self, correlation_id: str, events: Sequence[Event]) -> None:
        self.correlation_id = correlation_id
        self.events = in_time_order(events)
        self.refs = [e.ref for e in self.events]
        self.index = {ref: i for i, ref in enumerate(self.refs)}
        self.graph = nx.DiGraph()
        self.notes = _Notes()
        self.missing: dict[str, list[str]] = {}
        if len(self.refs) < len(events):
            self.notes.add("repeat", f"{len(events) - len(self.refs):,} repeated refs ignored")

    def nodes(self) -> None:
        for event, ref in zip(self.events, self.refs, strict=True):
            ids = event.ids
            self.graph.add_node(
                ref,
                event=event,
                topic=event.topic,
                service=ids.service,
                event_type=ids.event_type,
                timestamp_ms=event.timestamp,
                event_id=ids.event_id,
                trace_id=ids.trace_id,
                source=ids.source,
            )

    def edge(self, cause: str, effect: str, kind: str) -> None:
        if self.graph.has_edge(cause, effect):
            return
        ts = self.graph.nodes
        latency = ts[effect]["timestamp_ms"] - ts[cause]["timestamp_ms"]
        self.graph.add_edge(cause, effect, kind=kind, latency_ms=latency)

    def explicit(self) -> None:
        by_id, repeated = _first_by(self.events, self.refs, lambda ids: ids.event_id)
        for eid, refs in repeated.items():
            self.notes.add(
                "duplicate",
                f"duplicate event id {eid} at refs {_refs_text(refs)}: effects link to the first",
            )
        by_span, repeated_spans = _first_by(self.events, self.refs, _span_key)
        for (_trace, span), refs in repeated_spans.items():
            self.notes.add(
                "duplicate span",
                f"span {span} carried by refs {_refs_text(refs)}: child spans link to the first",
            )
        unseen_spans = 0
        for event, ref in zip(self.events, self.refs, strict=True):
            ids = event.ids
            self.causes(ref, ids, by_id)
            unseen_spans += self.span_parent(ref, ids, by_span)
        if unseen_spans:
            self.notes.add(
                "span",
                f"{unseen_spans:,} events name a parent span not among these events "
                "(not orphans: spans outside Kafka are normal)",
            )

    def causes(self, ref: str, ids: EventIds, by_id: dict[Hashable, str]) -> None:
        for cause in ids.causation_ids:
            source = by_id.get(cause)
            if cause == ids.event_id or source == ref:
                self.notes.add("self", f"event {ref} names itself as its cause: ignored")
            elif source is None:
                self.missing.setdefault(ref, []).append(cause)
            else:
                self.edge(source, ref, EXPLICIT)

    def span_parent(self, ref: str, ids: EventIds, by_span: dict[Hashable, str]) -> int:
        """Link to the parent span's event; 1 when the parent span is not here."""
        trace, parent = ids.trace_id, ids.parent_span_id
        if not (trace and parent):
            return 0
        source = by_span.get((trace, parent))
        if parent == ids.span_id or source == ref:
            self.notes.add("self", f"event {ref} names its own span as its parent: ignored")
        elif source is None:
            return 1
        else:
            self.edge(source, ref, EXPLICIT)
        return 0

    def inferred(self) -> None:
        by_trace: dict[str, list[int]] = {}
        for i, event in enumerate(self.events):
            trace = event.ids.trace_id
            if trace:
                by_trace.setdefault(trace, []).append(i)
        count = 0
        for positions in by_trace.values():
            count += self.infer_in_trace(positions)
        if count:
            self.notes.add(
                "inferred",
                f"{count:,} edges inferred (marked inferred): an event naming no cause whose "
                "trace id has exactly one earlier event",
            )

    def infer_in_trace(self, positions: list[int]) -> int:
        """``P ~> E`` for the events ``E`` of the trace's second timestamp (see the rules)."""
        if len(positions) < 2:
            return 0
        events = self.events
        first = events[positions[0]]
        second_ts = events[positions[1]].timestamp
        if second_ts <= first.timestamp:
            return 0  # two or more events share the first time: no single earlier event
        parent = self.refs[positions[0]]
        ancestors: set[str] | None = None
        count = 0
        for pos in positions[1:]:
            event = events[pos]
            if event.timestamp != second_ts:
                break
            if not _may_infer(first.ids, event.ids):
                continue
            if ancestors is None:
                ancestors = nx.ancestors(self.graph, parent)
            ref = self.refs[pos]
            if ref not in ancestors:
                self.edge(parent, ref, INFERRED)
                count += 1
        return count

    def break_cycles(self) -> tuple[list[list[str]], set[tuple[str, str]]]:
        """One reported cycle per strongly connected component, and the edges dropped."""
        index = self.index
        cycles: list[list[str]] = []
        dropped: set[tuple[str, str]] = set()
        for component in nx.strongly_connected_components(self.graph):
            if len(component) < 2:
                continue
            cycle, back = self.back_edges(component)
            at = cycle.index(min(cycle, key=index.__getitem__))
            cycles.append(cycle[at:] + cycle[:at])
            dropped.update(back)
        cycles.sort(key=lambda c: index[c[0]])
        for cycle in cycles:
            self.notes.add("cycle", "cycle: " + " -> ".join([*cycle, cycle[0]]))
        for u, v in sorted(dropped, key=lambda e: (index[e[0]], index[e[1]])):
            self.notes.add("dropped", f"edge {u} -> {v} closes a cycle: left out of the tree")
        return cycles, dropped

    def entries(self, component: set[str]) -> list[str]:
        """Where causes reach a component from outside (time order), else its first event."""
        pred = self.graph.pred
        found = [r for r in component if any(u not in component for u in pred[r])]
        return sorted(found or [min(component, key=self.index.__getitem__)], key=self.index.get)

    def back_edges(self, component: set[str]) -> tuple[list[str], list[tuple[str, str]]]:
        """A depth-first search of the component from its entries: a cycle and the back edges.

        Iterative (long cycles), children in time order; dropping the back edges
        leaves every event of the component reachable from an entry.
        """
        succ, index = self.graph.succ, self.index

        def inside(ref: str) -> Iterator[str]:
            return iter(sorted((v for v in succ[ref] if v in component), key=index.__getitem__))

        visited: set[str] = set()
        on_path: set[str] = set()
        back: list[tuple[str, str]] = []
        cycle: list[str] = []
        for entry in self.entries(component):
            if entry in visited:
                continue
            visited.add(entry)
            on_path.add(entry)
            path, stack = [entry], [inside(entry)]
            while stack:
                for v in stack[-1]:
                    if v in on_path:
                        back.append((path[-1], v))
                        cycle = cycle or path[path.index(v) :]
                    elif v not in visited:
                        visited.add(v)
                        on_path.add(v)
                        path.append(v)
                        stack.append(inside(v))
                        break
                else:
                    stack.pop()
                    on_path.discard(path.pop())
        return cycle, back

    def dag(self, dropped: set[tuple[str, str]]) -> tuple[dict[str, list[str]], list[str]]:
        """Children in time order without the dropped edges, and the roots that leaves."""
        index = self.index
        children: dict[str, list[str]] = {}
        has_parent: set[str] = set()
        for ref in self.refs:
            kids = [v for v in self.graph.successors(ref) if (ref, v) not in dropped]
            kids.sort(key=index.__getitem__)
            children[ref] = kids
            has_parent.update(kids)
        roots = [ref for ref in self.refs if ref not in has_parent]
        return children, roots

    def build(self) -> Trace:
        self.nodes()
        self.explicit()
        self.inferred()
        cycles, dropped = self.break_cycles()
        children, roots = self.dag(dropped)
        orphans = sorted({c for causes in self.missing.values() for c in causes})
        return Trace(
            correlation_id=self.correlation_id,
            graph=self.graph,
            events=self.events,
            orphans=orphans,
            cycles=cycles,
            critical_path=_critical_path(self.graph, children, roots, self.index),
            roots=roots,
            notes=self.notes.result(),
            missing=self.missing,
            dropped_edges=sorted(dropped, key=lambda e: (self.index[e[0]], self.index[e[1]])),
            children=children,
            index=self.index,
        )


def _may_infer(parent: EventIds, ids: EventIds) -> bool:
    """Rules 1 and 3 of inference (see the module notes)."""
    if ids.causation_ids or ids.parent_span_id:
        return False
    if ids.event_id is not None and ids.event_id == parent.event_id:
        return False
    if ids.span_id is not None and ids.span_id == parent.span_id:
        return False
    return not (ids.service is not None and ids.service == parent.service)


def _topological(children: dict[str, list[str]], roots: list[str]) -> list[str]:
    """Kahn's order of the DAG (roots first, in time order)."""
    indegree = dict.fromkeys(children, 0)
    for kids in children.values():
        for v in kids:
            indegree[v] += 1
    order = list(roots)
    i = 0
    while i < len(order):
        for v in children[order[i]]:
            indegree[v] -= 1
            if indegree[v] == 0:
                order.append(v)
        i += 1
    return order


def _critical_path(
    graph: nx.DiGraph, children: dict[str, list[str]], roots: list[str], index: dict[str, int]
) -> list[str]:
    """The root -> leaf path of the largest total latency (ties: more hops, earlier leaf)."""
    if not roots:
        return []
    best: dict[str, tuple[int, int]] = dict.fromkeys(roots, (0, 0))
    via: dict[str, str] = {}
    edges = graph.edges
    for u in _topological(children, roots):
        total, hops = best[u]
        for v in children[u]:
            candidate = (total + edges[u, v]["latency_ms"], hops + 1)
            if v not in best or candidate > best[v]:
                best[v] = candidate
                via[v] = u
    leaves = [ref for ref, kids in children.items() if not kids]
    end = max(leaves, key=lambda r: (best[r], -index[r]))
    path = [end]
    while path[-1] in via:
        path.append(via[path[-1]])
    path.reverse()
    return path


def build_trace(correlation_id: str, events: Sequence[Event]) -> Trace:
    """The causal graph of one transaction's events (see the module notes for the rules)."""
    return _Builder(correlation_id, events).build()


# -- rendering --------------------------------------------------------------------------------


def _ms(n: int) -> str:
    return f"{n:+d} ms"


def _label(value: Any) -> str:
    return "?" if value is None else str(value)


def _who(attrs: dict) -> str:
    """The service, else the CloudEvents source, else ``?``."""
    return _label(attrs["service"] or attrs["source"])


@dataclass(frozen=True)
class _Row:
    ref: str
    depth: int
    parent: str | None  # the tree parent (None for roots)
    first: bool  # False: a shared descendant already shown


@dataclass(frozen=True)
class _Summary:
    text: str  # e.g. "… 37 more ShipmentCreated"
    depth: int


Picker = Callable[[str, list[str]], tuple[list[str], list[str]]]


def _tree(trace: Trace, pick: Picker) -> Iterator[_Row | _Summary]:
    """Rows in tree order: roots first, children in time order, iteratively (deep chains).

    ``pick(parent, children)`` gives the children to show and summary lines for
    the rest (shown after the children).
    """
    seen: set[str] = set()
    stack: list[tuple[str, int, str | None] | _Summary] = [
        (r, 0, None) for r in reversed(trace.roots)
    ]
    while stack:
        item = stack.pop()
        if isinstance(item, _Summary):
            yield item
            continue
        ref, depth, parent = item
        if ref in seen:
            yield _Row(ref, depth, parent, False)
            continue
        seen.add(ref)
        yield _Row(ref, depth, parent, True)
        shown, summaries = pick(ref, trace.children.get(ref, []))
        stack.extend(_Summary(text, depth + 1) for text in reversed(summaries))
        stack.extend((kid, depth + 1, ref) for kid in reversed(shown))


def _show_all(_parent: str, kids: list[str]) -> tuple[list[str], list[str]]:
    return kids, []


def waterfall(trace: Trace) -> list[tuple[str, int, int, int]]:
    """(ref, depth, start ms from the trace start, latency ms from the tree parent), tree order.

    Every event once (a shared descendant under its first parent).
    """
    nodes = trace.graph.nodes
    start = trace.start_ms
    rows = []
    for row in _tree(trace, _show_all):
        if not isinstance(row, _Row) or not row.first:
            continue
        ts = nodes[row.ref]["timestamp_ms"]
        hop = 0 if row.parent is None else ts - nodes[row.parent]["timestamp_ms"]
        rows.append((row.ref, row.depth, ts - start, hop))
    return rows


def _collapser(trace: Trace, max_children: int) -> Picker:
    critical = set(trace.critical_path)
    nodes = trace.graph.nodes

    def pick(parent: str, kids: list[str]) -> tuple[list[str], list[str]]:
        if len(kids) <= max_children:
            return kids, []
        shown: list[str] = []
        per_type: dict[str, int] = {}
        hidden: dict[str, int] = {}
        for kid in kids:
            etype = _label(nodes[kid]["event_type"])
            if per_type.get(etype, 0) < max_children or kid in critical:
                per_type[etype] = per_type.get(etype, 0) + 1
                shown.append(kid)
            else:
                hidden[etype] = hidden.get(etype, 0) + 1
        return shown, [f"… {n:,} more {t}" for t, n in hidden.items()]

    return pick


def _indent(depth: int) -> str:
    if depth <= MAX_INDENT:
        return "  " * depth
    return "  " * MAX_INDENT + f"[{depth}] "


def render_tree(trace: Trace, *, max_children: int = 50) -> str:
    """The causal tree as indented text (see the module notes; ``*`` marks the critical path)."""
    graph = trace.graph
    nodes = graph.nodes
    critical = set(trace.critical_path)
    start = trace.start_ms
    lines = [_tree_header(trace)]
    for row in _tree(trace, _collapser(trace, max(1, max_children))):
        if isinstance(row, _Summary):
            lines.append(f"  {_indent(row.depth)}{row.text}")
            continue
        depth = row.depth
        arrow = ""
        if row.parent is not None:
            arrow = "~> " if graph.edges[row.parent, row.ref]["kind"] == INFERRED else "-> "
        if not row.first:
            lines.append(f"  {_indent(depth)}{arrow}{row.ref} (shown above)")
            continue
        attrs = nodes[row.ref]
        ts = attrs["timestamp_ms"]
        hop = "" if row.parent is None else f" ({_ms(ts - nodes[row.parent]['timestamp_ms'])})"
        mark = "*" if row.ref in critical else " "
        orphan = "".join(
            f"  (orphan: cause {c} never seen)" for c in trace.missing.get(row.ref, ())
        )
        lines.append(
            f"{mark} {_indent(depth)}{arrow}{_ms(ts - start)}{hop}  {_who(attrs)}  "
            f"{row.ref}  {_label(attrs['event_type'])}{orphan}"
        )
    lines.extend("cycle: " + " -> ".join([*c, c[0]]) for c in trace.cycles[:NOTES_PER_KIND])
    return "\n".join(lines) + "\n"


def _tree_header(trace: Trace) -> str:
    graph = trace.graph
    inferred = sum(1 for *_e, kind in graph.edges(data="kind") if kind == INFERRED)
    span = trace.events[-1].timestamp - trace.start_ms if trace.events else 0
    return (
        f"trace {trace.correlation_id}: {plural(len(trace.events), 'event')}, "
        f"{plural(graph.number_of_edges(), 'edge')} ({inferred:,} inferred), "
        f"{plural(len(trace.roots), 'root')}, {plural(len(trace.orphans), 'orphan')}, "
        f"{plural(len(trace.cycles), 'cycle')}, {span:,} ms"
    )


def _dot_text(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _node_text(attrs: dict, ref: str) -> str:
    return f"{_who(attrs)}\n{_label(attrs['event_type'])}\n{ref}"


def _critical_edges(trace: Trace) -> set[tuple[str, str]]:
    path = trace.critical_path
    return set(pairwise(path))


def render_dot(trace: Trace) -> str:
    """Graphviz DOT: labelled nodes and latency edges; inferred dashed, critical path bold."""
    graph = trace.graph
    critical = set(trace.critical_path)
    critical_edges = _critical_edges(trace)
    dropped = set(trace.dropped_edges)
    out = [
        f"digraph {_dot_text('trace ' + trace.correlation_id)} {{",
        "  rankdir=LR;",
        '  node [shape=box, fontname="monospace", fontsize=10];',
        '  edge [fontname="monospace", fontsize=9];',
    ]
    for e in trace.events:
        style = ", style=bold, penwidth=2" if e.ref in critical else ""
        label = _dot_text(_node_text(graph.nodes[e.ref], e.ref))
        out.append(f"  {_dot_text(e.ref)} [label={label}{style}];")
    for u, v in _sorted_edges(trace):
        data = graph.edges[u, v]
        styles = []
        if data["kind"] == INFERRED:
            styles.append("dashed")
        if (u, v) in critical_edges:
            styles.append("bold")
        attrs = [f"label={_dot_text(_ms(data['latency_ms']))}"]
        if styles:
            attrs.append(f"style={_dot_text(','.join(styles))}")
        if (u, v) in critical_edges:
            attrs.append("penwidth=2")
        if (u, v) in dropped:
            attrs.append('color="red", constraint=false')
        out.append(f"  {_dot_text(u)} -> {_dot_text(v)} [{', '.join(attrs)}];")
    for i, (ref, cause) in enumerate(_missing_links(trace)):
        node = f"missing{i}"
        label = _dot_text("never seen\n" + cause)
        out.append(f"  {node} [label={label}, shape=ellipse, style=dashed];")
        out.append(f'  {node} -> {_dot_text(ref)} [style=dotted, label="orphan"];')
    out.append("}")
    return "\n".join(out) + "\n"


def _sorted_edges(trace: Trace) -> list[tuple[str, str]]:
    order = trace._order()
    return sorted(trace.graph.edges, key=lambda e: (order[e[0]], order[e[1]]))


def _missing_links(trace: Trace) -> list[tuple[str, str]]:
    """(ref, missing cause id) in time order of the refs."""
    return [(e.ref, c) for e in trace.events for c in trace.missing.get(e.ref, ())]


def _mermaid_text(text: str) -> str:
    return '"' + text.replace('"', "#quot;").replace("\n", "<br/>") + '"'


def render_mermaid(trace: Trace) -> str:
    """A ``flowchart LR`` Mermaid graph: inferred links dotted, the critical path thick."""
    graph = trace.graph
    ids = {e.ref: f"n{i}" for i, e in enumerate(trace.events)}
    critical_edges = _critical_edges(trace)
    out = ["flowchart LR"]
    for e in trace.events:
        out.append(f"  {ids[e.ref]}[{_mermaid_text(_node_text(graph.nodes[e.ref], e.ref))}]")
    thick: list[int] = []
    link = 0
    for u, v in _sorted_edges(trace):
        data = graph.edges[u, v]
        arrow = "-.->" if data["kind"] == INFERRED else "-->"
        out.append(f"  {ids[u]} {arrow}|{_mermaid_text(_ms(data['latency_ms']))}| {ids[v]}")
        if (u, v) in critical_edges:
            thick.append(link)
        link += 1
    for i, (ref, cause) in enumerate(_missing_links(trace)):
        out.append(f"  m{i}([{_mermaid_text('never seen: ' + cause)}])")
        out.append(f"  m{i} -. orphan .-> {ids[ref]}")
        link += 1
    if trace.critical_path:
        out.append("  classDef critical stroke-width:3px")
        out.append(f"  class {','.join(ids[r] for r in trace.critical_path)} critical")
    if thick:
        out.append(f"  linkStyle {','.join(map(str, thick))} stroke-width:3px")
    return "\n".join(out) + "\n"
