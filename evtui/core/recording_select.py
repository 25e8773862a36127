"""Choosing what to read of a recording: topics by name or pattern, positions on a file.

Kafka's start positions and end bounds (:mod:`evtui.core.positions`) applied to
the records a file holds, for the console's recording source.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from evtui.core.positions import Kind, Position
from evtui.core.recording_format import TP
from evtui.errors import UsageError


class Selection:
    """Which records of each partition a start position and an end bound select.

    Kafka's rules, on the records the file holds (read in offset order):
    ``beginning`` from the first; ``end`` none; ``N`` from offset N; ``-N`` the
    last N records (``counts``: each partition's records in the file); a time
    from the first record at or after it, and everything after. The end bound:
    ``end`` the end of the file, ``N`` up to offset N (inclusive), a time before
    the first record at or after it (exclusive).
    """

    def __init__(
        self, start: Position, until: Position | None = None, counts: dict[TP, int] | None = None
    ) -> None:
        self.start = start
        self.until = until
        self.counts = counts or {}
        self._seen: dict[TP, int] = {}  # records looked at per partition
        self._started: set[TP] = set()
        self._stopped: set[TP] = set()

    def selects(self, tp: TP, offset: int, timestamp: int) -> bool:
        index = self._seen.get(tp, 0)
        self._seen[tp] = index + 1
        if tp in self._stopped:
            return False
        if self._past_until(offset, timestamp):
            self._stopped.add(tp)
            return False
        if tp in self._started:
            return True
        if self._starts(tp, index, offset, timestamp):
            self._started.add(tp)
            return True
        return False

    def stopped(self, tp: TP) -> bool:
        return tp in self._stopped

    def _starts(self, tp: TP, index: int, offset: int, timestamp: int) -> bool:
        kind, value = self.start.kind, self.start.value
        if kind is Kind.BEGINNING:
            return True
        if kind is Kind.END:
            return False
        if kind is Kind.OFFSET:
            return offset >= value
        if kind is Kind.TAIL:
            return index >= self.counts.get(tp, 0) - value
        return timestamp >= value

    def _past_until(self, offset: int, timestamp: int) -> bool:
        until = self.until
        if until is None or until.kind is Kind.END:
            return False
        if until.kind is Kind.OFFSET:
            return offset > until.value
        return timestamp >= until.value


def select_topics(
    available: Sequence[str], requested: Sequence[str] | None, where: str
) -> list[str]:
    """Topics by name or ``^regex`` among ``available``; None (or none) = all."""
    if not requested:
        return list(available)
    chosen: list[str] = []
    for name in requested:
        if name.startswith("^"):
            try:
                pattern = re.compile(name)
            except re.error as exc:
                raise UsageError(f"invalid topic pattern '{name}': {exc}") from None
            chosen += [t for t in available if pattern.search(t)]
        elif name in available:
            chosen.append(name)
        else:
            raise UsageError(
                f"{where} holds no topic '{name}'; its topics: {', '.join(available) or 'none'}"
            )
    if not chosen:
        raise UsageError(f"no topic of {where} matches {', '.join(requested)}")
    return list(dict.fromkeys(chosen))
