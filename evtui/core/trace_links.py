"""What trace membership follows, shared by the streaming collector and the live index.

The time order of events (:func:`time_key`, the order of everything in a
trace) and the link tables: sequence numbers of events by event id, by cause
id, by (trace, span) and by (trace, parent span) (:class:`Links`), each a
:class:`Postings` map bounded by trimming. Trace ids arrive in their canonical
form (:func:`evtui.core.ids.canonical_trace_id`), so one trace is one key.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Hashable, Iterable, Iterator, Sequence

from evtui.core import native
from evtui.core.event import Event
from evtui.core.ids import EventIds


def time_key(event: Event) -> tuple[int, str, int, int]:
    """The order of events everywhere here: time, then topic, partition, offset."""
    return (event.timestamp, event.topic, event.partition, event.offset)


def in_time_order(events: Iterable[Event]) -> list[Event]:
    """The events sorted by :func:`time_key`, de-duplicated by ref."""
    unique = {(e.topic, e.partition, e.offset): e for e in events}
    return sorted(unique.values(), key=time_key)


# -- postings: sequence numbers by key, bounded by trimming -----------------------------------


_untrack_ints = native.untrack_ints()


class Postings:
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
    """(table, key) for every way ``ids`` can be found: see ``BY_ID`` .. ``BY_PARENT``."""
    if ids.event_id:
        yield BY_ID, ids.event_id
    for cause in ids.causation_ids:
        yield BY_CAUSE, cause
    trace = ids.trace_id
    if trace:
        if ids.span_id:
            yield BY_SPAN, (trace, ids.span_id)
        if ids.parent_span_id:
            yield BY_PARENT, (trace, ids.parent_span_id)


BY_ID, BY_CAUSE, BY_SPAN, BY_PARENT = range(4)


class Links:
    """The four link tables: by event id, cause id, (trace, span), (trace, parent span)."""

    __slots__ = ("tables",)

    def __init__(self) -> None:
        self.tables = (Postings(), Postings(), Postings(), Postings())

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
        yield from self.tables[BY_ID].get(wanted)
        yield from self.tables[BY_CAUSE].get(wanted)
