"""Which kept events a live tail shows: the rows of a virtual list over an EventStore.

Without a filter every kept event is a row (row ``i`` is sequence ``first + i``,
so nothing is copied). With a filter the view keeps the sequences that match,
evaluated incrementally under a time budget so that an expensive filter never
blocks the UI: events not yet checked are *pending*, and events evicted from
the store before they could be checked are counted as *skipped*, so the view
can say it is sampling instead of silently falling behind.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Callable

from evtui.core.event import Event
from evtui.core.store import EventStore

Predicate = Callable[[Event], bool]
_CHECK_CLOCK_EVERY = 128
SKIP_KEEP_ADVANCES = 5  # falling behind: keep this many advances' worth of the newest
SKIP_KEEP_MIN = 1000


def substring_predicate(text: str) -> Predicate:
    """Quick search: ``text`` in the key, value, header values or topic.

    Smart case, as in vim: all-lowercase text matches case-insensitively.
    """
    needle = text.encode()
    fold = text == text.lower()

    def matches(event: Event) -> bool:
        for data in _haystacks(event):
            if data and needle in (data.lower() if fold else data):
                return True
        return False

    return matches


def _haystacks(event: Event) -> list[bytes | None]:
    return [
        event.value,
        event.key,
        event.topic.encode(),
        *(value for _, value in event.headers),
    ]


def all_of(predicates: list[Predicate]) -> Predicate | None:
    if not predicates:
        return None
    if len(predicates) == 1:
        return predicates[0]
    return lambda event: all(p(event) for p in predicates)


class TailView:
    """Rows of a tail over ``store``, optionally narrowed by a predicate."""

    def __init__(self, store: EventStore, predicate: Predicate | None = None) -> None:
        self.store = store
        self.skipped = 0  # evicted before the filter could check them
        self.checked = 0  # events the filter evaluated
        self._matches: list[int] = []
        self._head = 0  # matches before it are evicted
        self._checked_upto = store.first
        self._matched_total = 0
        self._evicted_seen = store.stats.evicted
        self._last_checked = 0
        self.predicate: Predicate | None = None
        self.set_predicate(predicate)

    # -- filter -------------------------------------------------------------------------------

    def set_predicate(self, predicate: Predicate | None) -> None:
        """Narrow (or widen, with None) the view; re-checks every kept event."""
        self.predicate = predicate
        self._matches, self._head = [], 0
        self._checked_upto = self.store.first
        self.skipped = self.checked = 0
        self._matched_total = 0
        self._evicted_seen = self.store.stats.evicted
        self._last_checked = 0

    @property
    def filtered(self) -> bool:
        return self.predicate is not None

    @property
    def pending(self) -> int:
        """Kept events the filter has not checked yet."""
        if self.predicate is None:
            return 0
        return self.store.next - max(self._checked_upto, self.store.first)

    def advance(self, budget_s: float = 0.02) -> int:
        """Check pending events until done or ``budget_s`` is spent; returns matches added."""
        store = self.store
        self._drop_evicted()
        if self.predicate is None:
            return 0
        if self._checked_upto < store.first:
            self.skipped += store.first - self._checked_upto
            self._checked_upto = store.first
        self._skip_ahead_if_behind()
        added = self._check(time.perf_counter() + budget_s)
        self._evicted_seen = store.stats.evicted
        return added

    def _skip_ahead_if_behind(self) -> None:
        """Live input faster than the filter: check the newest events, skip the rest.

        Checking in order would only ever reach events about to be evicted, so
        the view would show matches seconds old while claiming to follow. When
        the window is evicting and more is pending than a few advances can
        check, the oldest pending events are skipped (and counted); a window that
        is not moving is always checked in full.
        """
        store = self.store
        if store.stats.evicted == self._evicted_seen:
            return
        keep = max(SKIP_KEEP_ADVANCES * self._last_checked, SKIP_KEEP_MIN)
        target = store.next - keep
        if target > self._checked_upto:
            self.skipped += target - self._checked_upto
            self._checked_upto = target

    def _check(self, deadline: float) -> int:
        store, predicate, matches = self.store, self.predicate, self._matches
        assert predicate is not None
        seq, end, added = self._checked_upto, self.store.next, 0
        clock = time.perf_counter
        while seq < end:
            if predicate(store[seq]):
                matches.append(seq)
                added += 1
            seq += 1
            if seq % _CHECK_CLOCK_EVERY == 0 and clock() >= deadline:
                break
        self.checked += seq - self._checked_upto
        self._last_checked = seq - self._checked_upto
        self._checked_upto = seq
        self._matched_total += added
        return added

    def _drop_evicted(self) -> None:
        first, matches = self.store.first, self._matches
        if self._head < len(matches) and matches[self._head] < first:
            self._head = bisect_left(matches, first, self._head)
        if self._head > 4096 and self._head * 2 > len(matches):
            del matches[: self._head]
            self._head = 0

    # -- rows ---------------------------------------------------------------------------------

    @property
    def rows(self) -> int:
        if self.predicate is None:
            return len(self.store)
        self._drop_evicted()
        return len(self._matches) - self._head

    @property
    def total(self) -> int:
        """Rows ever shown (including evicted ones): grows by the number of new rows."""
        if self.predicate is None:
            return self.store.stats.total
        return self._matched_total

    def seq_at(self, row: int) -> int:
        if self.predicate is None:
            return self.store.first + row
        return self._matches[self._head + row]

    def event_at(self, row: int) -> Event:
        return self.store[self.seq_at(row)]

    def row_of(self, seq: int) -> int:
        """The row showing ``seq``, or the nearest row after it (clamped to the last row)."""
        rows = self.rows
        if rows == 0:
            return 0
        if self.predicate is None:
            row = seq - self.store.first
        else:
            row = bisect_left(self._matches, seq, self._head) - self._head
        return max(0, min(row, rows - 1))
