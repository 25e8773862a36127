"""Where a Kafka read starts and stops, per partition.

:class:`PartitionPlan` is one partition's range; :class:`OffsetLister` asks the
cluster for the offsets a range needs (earliest, latest, the first at a time,
retrying while a leader is elected) and resolves the start position and the
bound against them. The reading itself is :mod:`evtui.sources.kafka`'s.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import confluent_kafka as ck

from evtui.config import ClientConfig
from evtui.core.positions import Kind, Position, start_offset, stop_offset
from evtui.errors import EvtuiError
from evtui.sources.kafka_client import is_transient, kafka_error_text

TP = tuple[str, int]
EARLIEST, LATEST = -2, -1  # ListOffsets' stamps (any other stamp is a time)


@dataclass
class PartitionPlan:
    """Where reading a partition starts and, for a bounded read, where it stops."""

    topic: str
    partition: int
    low: int
    high: int
    start: int
    stop: int | None = None  # exclusive stop offset
    stop_time: int | None = None  # or: stop at the first record at/after this time
    done: bool = False
    at_end: bool = False  # the last thing seen was the partition's end (EOF)
    next: int = -1  # the offset after the last record read (-1: none read yet)

    @property
    def bounded(self) -> bool:
        return self.stop is not None or self.stop_time is not None

    @property
    def empty(self) -> bool:
        return self.stop is not None and self.start >= self.stop


class _OffsetsError(Exception):
    def __init__(self, message: str, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class OffsetLister:
    """ListOffsets through ``consumer``, each request waiting up to ``timeout`` seconds."""

    consumer: ck.Consumer
    config: ClientConfig
    timeout: float

    def offsets(self, tps: list[TP], stamp: int) -> dict[TP, int]:
        """One batched ListOffsets: ``stamp`` -2 = earliest, -1 = latest, else a time.

        Retriable errors (a leader being elected, a topic just created) are retried
        with backoff until the timeout; anything else is an error at once.
        """
        if not tps:
            return {}
        deadline = time.monotonic() + self.timeout
        backoff = 0.1
        while True:
            try:
                return self._try_offsets(tps, stamp)
            except _OffsetsError as exc:
                if not exc.transient or time.monotonic() + backoff > deadline:
                    raise EvtuiError(str(exc)) from None
            time.sleep(backoff)
            backoff = min(backoff * 2, 1.0)

    def _try_offsets(self, tps: list[TP], stamp: int) -> dict[TP, int]:
        query = [ck.TopicPartition(t, p, stamp) for t, p in tps]
        try:
            found = self.consumer.offsets_for_times(query, timeout=self.timeout)
        except ck.KafkaException as exc:
            text = f"cannot list offsets on {self.config.bootstrap}: "
            raise _OffsetsError(
                text + kafka_error_text(self.config, exc), is_transient(exc.args[0])
            ) from None
        result = {}
        for tp in found:
            if tp.error is not None:
                text = f"cannot list offsets of {tp.topic}[{tp.partition}]: "
                raise _OffsetsError(
                    text + kafka_error_text(self.config, tp.error), is_transient(tp.error)
                )
            result[(tp.topic, tp.partition)] = tp.offset
        return result

    def _times(self, tps: list[TP], pos: Position | None) -> dict[TP, int]:
        if pos is None or pos.kind is not Kind.TIME:
            return {}
        return self.offsets(tps, pos.value)

    def plan(
        self, tps: list[TP], start: Position, until: Position | None
    ) -> dict[TP, PartitionPlan]:
        """Each partition's plan: from ``start`` to ``until`` (None: no bound)."""
        lows, highs = self.offsets(tps, EARLIEST), self.offsets(tps, LATEST)
        start_times = self._times(tps, start)
        until_times = self._times(tps, until)
        plans: dict[TP, PartitionPlan] = {}
        for tp in tps:
            low, high = lows[tp], highs[tp]
            plan = PartitionPlan(tp[0], tp[1], low, high, 0)
            plan.start = start_offset(start, low, high, lambda _t, tp=tp: start_times.get(tp))
            if until is not None:
                plan.stop = stop_offset(until, high, lambda _t, tp=tp: until_times.get(tp))
                if plan.stop is None:
                    plan.stop_time = until.value
            plans[tp] = plan
        return plans
