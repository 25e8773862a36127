"""Gathering one transaction's events from a scan (``evtui trace``): :class:`TraceCollector`.

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

The live console's index (:mod:`evtui.core.trace_index`) uses the same closure
over the events it keeps; the graph is built by :mod:`evtui.core.trace_graph`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from evtui.core import native
from evtui.core.event import Event, restore_event
from evtui.core.ids import EventIds
from evtui.core.idsearch import Candidates, IdPrefix, search_keys
from evtui.core.native import fill_ids
from evtui.core.problems import RecordProblems, offer_all
from evtui.core.trace_links import Links, time_key


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
        links = Links()
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
