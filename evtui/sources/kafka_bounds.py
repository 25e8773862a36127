"""How far a bounded Kafka read got: which assigned partitions are short of their bound.

A partition is done at its stop offset, at its first record at or after its stop
time, or, bounded by a time, once it is idle at its end and the wall clock passed
that time. This module decides when; the source (``on_done``) unassigns it.
"""

from __future__ import annotations

from collections.abc import Callable

from evtui.core.positions import now_ms
from evtui.sources.kafka_plan import TP, PartitionPlan


class ReadBounds:
    """The bounded partitions of one read (an unbounded read has none)."""

    def __init__(self, on_done: Callable[[PartitionPlan], None]) -> None:
        self.plans: dict[TP, PartitionPlan] = {}  # every bounded partition assigned
        self.open = 0  # partitions not yet at their bound
        self.time_bounded: list[PartitionPlan] = []  # bounds only a time can tell
        self._on_done = on_done

    def add(self, plan: PartitionPlan) -> None:
        self.plans[(plan.topic, plan.partition)] = plan
        self.open += 1
        if plan.stop_time is not None:
            self.time_bounded.append(plan)

    def get(self, tp: TP) -> PartitionPlan | None:
        return self.plans.get(tp)

    def want(self, batch_size: int) -> int:
        """Records to ask for: a batch, or fewer when fewer offsets are left before the stop
        offsets, so that the last batch comes when it is there, not at consume's timeout.

        (Offsets left can only outnumber the records left: compaction and transaction
        markers leave offsets without records.)
        """
        if self.time_bounded or not self.plans:
            return batch_size
        left = 0
        for plan in self.plans.values():
            if not plan.done and plan.stop is not None:
                left += plan.stop - max(plan.next, plan.start)
        return max(1, min(batch_size, left))

    def past_bound(self, plan: PartitionPlan, offset: int, ts: int) -> bool:
        """True when the record lies beyond the bound; marks the partition done at it."""
        if plan.stop is not None:
            if offset >= plan.stop:
                self.done(plan)
                return True
            if offset >= plan.stop - 1:
                self.done(plan)
            return False
        if plan.stop_time is not None and ts >= plan.stop_time:
            self.done(plan)
            return True
        return False

    def reached_end(self, tp: TP, end: int) -> None:
        """``tp`` is at its end, ``end`` (a partition end the client reported)."""
        plan = self.plans.get(tp)
        if plan is None or plan.done:
            return
        # transaction markers and compaction can leave the last offsets before the
        # bound without records
        plan.at_end = True
        if plan.stop is not None and end >= plan.stop:
            self.done(plan)

    def check_time(self) -> None:
        """A partition idle at its end is done once the wall clock passes its end time.

        librdkafka reports the end only once each time it is reached, so this
        cannot wait for another EOF.
        """
        if not self.time_bounded:
            return
        now = now_ms()
        for plan in self.time_bounded:
            if plan.at_end and not plan.done and now >= (plan.stop_time or 0):
                self.done(plan)

    def done(self, plan: PartitionPlan) -> None:
        if plan.done:
            return
        plan.done = True
        self.open -= 1
        self._on_done(plan)
