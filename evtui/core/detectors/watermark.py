"""How far a read has come in record time over every partition it reads
(:class:`Watermark`): what the causal detector judges missing causes on.
"""

from __future__ import annotations

from collections.abc import Iterable

TP = tuple[str, int]


class Watermark:
    """How far a read has come in record time, over every partition it reads.

    Partitions are read side by side or one after another (a scan drains one
    partition's backlog before the next), so the time of the latest record read
    says nothing about a partition not read yet. The watermark is the minimum,
    over the partitions still being read, of the latest record time read in
    each; a partition named by :meth:`expect` and not read yet holds it back
    (None: nothing may be judged yet). A partition that is done or idle (read
    to its end, :meth:`rest`) does not hold it back until it delivers again;
    when no partition holds it, it is the latest record time read anywhere.
    """

    def __init__(self) -> None:
        self.progress: dict[TP, int] = {}  # the latest record time read, per partition
        self.unread: set[TP] = set()  # expected, nothing read yet
        self.resting: set[TP] = set()  # done or idle
        self.latest: int | None = None
        self._value: int | None = None
        self._low: TP | None = None  # the partition holding the watermark
        self._stale = True

    def expect(self, partitions: Iterable[TP]) -> None:
        """Partitions the read covers: each holds the watermark back until it is read."""
        for tp in partitions:
            if tp not in self.progress and tp not in self.resting:
                self.unread.add(tp)
        self._stale = True

    def rest(self, partitions: Iterable[TP]) -> None:
        """Partitions read to their end (done, or idle for now): they hold nothing back."""
        for tp in partitions:
            self.resting.add(tp)
            self.unread.discard(tp)
        self._stale = True

    def see(self, tp: TP, at: int) -> None:
        if tp in self.resting:
            self.resting.discard(tp)
            self._stale = True
        if self.unread and tp in self.unread:
            self.unread.discard(tp)
            self._stale = True
        last = self.progress.get(tp)
        if last is None or at > last:
            self.progress[tp] = at
            if last is None or tp == self._low:
                self._stale = True
        if self.latest is None or at > self.latest:
            self.latest = at

    def value(self) -> int | None:
        """The watermark (record time, ms); None while an expected partition is unread."""
        if self._stale:
            self._stale = False
            self._value, self._low = self._compute()
        return self._value

    def _compute(self) -> tuple[int | None, TP | None]:
        if self.unread:
            return None, None
        resting = self.resting
        active = [(at, tp) for tp, at in self.progress.items() if tp not in resting]
        if not active:
            return self.latest, None
        at, tp = min(active)
        return at, tp

    def carry(self, other: Watermark) -> None:
        """What ``other`` knew of the partitions (not their progress): after a restart."""
        self.expect(other.unread | set(other.progress))
        self.rest(other.resting)
