"""The bounded window of events a view scrolls through.

Events get a sequence number as they are kept; ``first``..``next - 1`` are
the ones still kept. Lookup by sequence is O(1) (a ring buffer), so a virtual
list can render any visible row of hundreds of thousands without copying.
Every eviction is counted, and records a source delivers twice (a reconnect,
a retry) are dropped by their offset, so the view neither loses nor repeats.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from evtui.core import native
from evtui.core.event import Event


@dataclass
class StoreStats:
    kept: int = 0
    evicted: int = 0
    duplicates_dropped: int = 0
    total: int = 0  # events ever kept


class EventStore:
    """A ring buffer of at most ``capacity`` events, addressed by sequence number."""

    def __init__(self, capacity: int = 200_000) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._ring: list[Event | None] = [None] * capacity
        native.untrack_ring(self._ring)  # full collections need not visit every slot
        self.first = 0  # sequence of the oldest kept event
        self.next = 0  # sequence the next event gets
        self.stats = StoreStats()
        self._high: dict[tuple[str, int], int] = {}  # highest offset kept per partition

    def __len__(self) -> int:
        return self.next - self.first

    def __getitem__(self, seq: int) -> Event:
        if not self.first <= seq < self.next:
            raise IndexError(f"sequence {seq} is not kept ({self.first}..{self.next - 1})")
        event = self._ring[seq % self.capacity]
        assert event is not None
        return event

    def append(self, events: Iterable[Event]) -> int:
        """Keep a batch; returns how many were new (re-deliveries are dropped)."""
        ring, capacity, high = self._ring, self.capacity, self._high
        added = 0
        for event in events:
            tp = (event.topic, event.partition)
            if event.offset <= high.get(tp, -1):
                self.stats.duplicates_dropped += 1
                continue
            high[tp] = event.offset
            ring[self.next % capacity] = event
            self.next += 1
            added += 1
        overflow = len(self) - capacity
        if overflow > 0:
            self.first += overflow
            self.stats.evicted += overflow
        self.stats.total += added
        self.stats.kept = len(self)
        return added

    def forget_partition_positions(self) -> None:
        """After a seek backwards, records at old offsets are wanted again."""
        self._high.clear()

    def clear(self) -> None:
        self._ring = [None] * self.capacity
        self.first = self.next = 0
        self._high.clear()
        self.stats.kept = 0

    def slice(self, start: int, stop: int) -> list[Event]:
        """Kept events with sequences in ``start..stop-1`` (clipped to what is kept), as one
        list: the ring's slices (at C speed, where a loop of ``store[i]`` costs a call each)."""
        start, stop = max(start, self.first), min(stop, self.next)
        if start >= stop:
            return []
        capacity, ring = self.capacity, self._ring
        i, j = start % capacity, (stop - 1) % capacity + 1
        if i < j:
            return ring[i:j]  # type: ignore[return-value]
        return ring[i:] + ring[:j]  # type: ignore[operator]

    def range(self, start: int, stop: int) -> Iterator[Event]:
        """Kept events with sequences in ``start..stop-1`` (clipped to what is kept)."""
        for seq in range(max(start, self.first), min(stop, self.next)):
            yield self._ring[seq % self.capacity]  # type: ignore[misc]
