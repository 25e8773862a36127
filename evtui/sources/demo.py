"""The simulated shop as an in-process event source, with simulated consumer groups.

No broker needed: records get offsets per partition here, and each service's
group "commits" as it would, one slow in waves and one that stops, so lag,
traces and violations all have something real to show.

Seeking works as on Kafka: the simulation is deterministic, so a new source on
the same simulator that is told how long the simulation has already run
(``elapsed_ms``) replays the same history with the same offsets, delivers the
part of it its start position selects at once, and paces the rest in real time.
"""

from __future__ import annotations

import copy
import threading
import time
import zlib
from collections.abc import Iterator, Sequence

from evtui.core.decode import prepare_events
from evtui.core.event import Event, TimestampType
from evtui.core.lag import OffsetTimes
from evtui.core.lag_commits import CommitLog
from evtui.core.positions import END, Kind, Position
from evtui.errors import UsageError
from evtui.sim.model import GroupSpec, SimRecord
from evtui.sim.shop import ShopSimulator
from evtui.sources.base import Batch, BatchQueue, Problem, SourceState, SourceStats

TP = tuple[str, int]
SLOW_WAVE_MS = 10_000  # the slow group: this long behind, then this long catching up


def partition_for(key: bytes, partitions: int) -> int:
    return zlib.crc32(key) % partitions


class SimulatedGroups:
    """Committed offsets of the simulated service groups, advanced on the sim's clock."""

    def __init__(self, groups: list[GroupSpec], stop_after_ms: int | None) -> None:
        self.groups = groups
        self.stop_after_ms = stop_after_ms
        self.committed: dict[str, dict[TP, int]] = {g.name: {} for g in groups}
        self._progress: dict[str, dict[TP, float]] = {}
        self._seen: dict[tuple[str, TP], int] = {}  # end offsets at the last advance
        # what a cluster keeps and evtui reads: commit records, and ends over time
        self.log = CommitLog()
        self.tables: dict[TP, OffsetTimes] = {}

    def advance(self, now_ms: int, ends: dict[TP, int]) -> None:
        """Let every group commit what it has processed by ``now_ms``."""
        for tp, end in ends.items():
            self.tables.setdefault(tp, OffsetTimes()).add(end, now_ms)
        for group in self.groups:
            if group.stoppable and self.stop_after_ms is not None and now_ms >= self.stop_after_ms:
                continue  # stopped: commits freeze while the log grows
            offsets = self.committed[group.name]
            progress = self._progress.setdefault(group.name, {})
            behind = group.slow and (now_ms // SLOW_WAVE_MS) % 2 == 0
            for tp, end in ends.items():
                if tp[0] not in group.topics:
                    continue
                done = progress.get(tp, 0.0)
                if behind:  # a quarter of what arrives: lag grows
                    arrived = end - self._seen.get((group.name, tp), 0)
                    done += arrived / 4
                else:  # everything new plus a fifth of the backlog: lag recovers
                    done = end - (end - done) * 4 // 5 if end - done > 5 else end
                progress[tp] = min(done, end)
                offsets[tp] = int(progress[tp])
                self._seen[(group.name, tp)] = end
                self.log.add((group.name, tp[0], tp[1], offsets[tp]), now_ms)

    def stopped(self, now_ms: int) -> list[str]:
        if self.stop_after_ms is None or now_ms < self.stop_after_ms:
            return []
        return [g.name for g in self.groups if g.stoppable]


def select_topics(available: Sequence[str], requested: Sequence[str] | None) -> list[str]:
    """The demo topics to deliver: names or ``^regex`` as for Kafka; None (or none) = all."""
    if not requested:
        return list(available)
    from evtui.sources.kafka import match_topics  # the same rules as on a cluster

    chosen, missing = match_topics(requested, available)
    if missing:
        raise UsageError(
            f"unknown topic '{missing[0]}' in the demo; its topics are {', '.join(available)}"
        )
    if not chosen:
        raise UsageError(f"no demo topic matches {', '.join(requested)}")
    return chosen


class HistoryStart:
    """Which records of the history a start position selects, per partition (Kafka's rules).

    History records are seen in offset order, so a start offset never has to
    be known in advance, except for ``-N``, which needs each partition's end
    (``ends``). After the history every record is news and is selected.
    """

    def __init__(self, position: Position, ends: dict[TP, int]) -> None:
        self.position = position
        self.ends = ends
        self._started: set[TP] = set()  # TIME: partitions past their first record at/after it

    def selects(self, tp: TP, offset: int, timestamp: int) -> bool:
        kind, value = self.position.kind, self.position.value
        if kind is Kind.BEGINNING:
            return True
        if kind is Kind.END:
            return False
        if kind is Kind.OFFSET:  # beyond the end: from the end, i.e. no history
            return offset >= value
        if kind is Kind.TAIL:
            return offset >= self.ends.get(tp, 0) - value
        if tp not in self._started and timestamp >= value:
            self._started.add(tp)
        return tp in self._started


class DemoSource:
    """Events from the simulator, paced in real time (``batches()`` runs unpaced).

    ``topics`` limits what is delivered (offsets do not depend on it).
    ``elapsed_ms`` says the simulation has already run this long: records up
    to that sim time are the history, of which ``start`` selects what is
    delivered at once, unpaced; later records are paced in real time. With
    ``elapsed_ms=0`` nothing has run yet and every record is news.
    """

    def __init__(
        self,
        sim: ShopSimulator,
        *,
        partitions: int = 3,
        duration_ms: int | None = None,
        stop_group_after_ms: int | None = 60_000,
        batch_ms: int = 50,
        topics: Sequence[str] | None = None,
        start: Position = END,
        elapsed_ms: int = 0,
        max_batch: int = 5000,
    ) -> None:
        if elapsed_ms < 0:
            raise ValueError("elapsed_ms must be >= 0")
        self.sim = sim
        self._origin = copy.deepcopy(sim)  # the simulation before this source ran it
        self.partitions = partitions
        self.duration_ms = duration_ms
        self.stop_group_after_ms = stop_group_after_ms
        self.batch_ms = batch_ms
        self.requested = list(topics) if topics else None
        self.topics = select_topics(sim.topics.all(), topics)
        self._wanted = frozenset(self.topics)
        self.start_position = start
        self.elapsed_ms = elapsed_ms
        self.max_batch = max_batch
        self.state = SourceState.CONNECTED
        self.stats = SourceStats(partitions=len(self.topics) * partitions)
        self.groups = SimulatedGroups(sim.groups, stop_group_after_ms)
        self.ends: dict[TP, int] = {(t, p): 0 for t in sim.topics.all() for p in range(partitions)}
        self.now_ms = 0
        self._lock = threading.Lock()
        self._queue = BatchQueue(16)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- seeking ------------------------------------------------------------------------------

    @property
    def sim_time_ms(self) -> int:
        """How long the simulation has run: what a replay's ``elapsed_ms`` should be."""
        with self._lock:
            return max(self.now_ms, self.elapsed_ms)

    def reopen(self, start: Position, topics: Sequence[str] | None = None) -> DemoSource:
        """A new, unstarted source replaying this simulation from ``start``, as a seek.

        The history is everything up to this source's sim time; ``topics``
        None keeps this source's selection. The caller stops this source.
        """
        return DemoSource(
            copy.deepcopy(self._origin),
            partitions=self.partitions,
            duration_ms=self.duration_ms,
            stop_group_after_ms=self.stop_group_after_ms,
            batch_ms=self.batch_ms,
            topics=self.requested if topics is None else topics,
            start=start,
            elapsed_ms=self.sim_time_ms,
            max_batch=self.max_batch,
        )

    def _tp(self, record: SimRecord) -> TP:
        return record.topic, partition_for(record.key, self.partitions)

    def _history_ends(self) -> dict[TP, int]:
        """Each partition's end at ``elapsed_ms``: a counting pass on a copy of the sim."""
        ends = dict.fromkeys(self.ends, 0)
        for record in copy.deepcopy(self._origin).records(until_ms=self.duration_ms):
            if record.at_ms > self.elapsed_ms:
                break
            tp = self._tp(record)
            ends[tp] += 1
        return ends

    def _history_start(self) -> HistoryStart | None:
        if self.elapsed_ms <= 0:
            return None
        tail = self.start_position.kind is Kind.TAIL
        return HistoryStart(self.start_position, self._history_ends() if tail else {})

    # -- the timeline -------------------------------------------------------------------------

    def _place(self, record: SimRecord, history: HistoryStart | None) -> Event | None:
        """Give the record its offset; the Event when it is to be delivered."""
        tp = self._tp(record)
        offset = self.ends[tp]
        self.ends[tp] = offset + 1
        if tp[0] not in self._wanted:
            return None
        timestamp = self.sim.start_ms + record.at_ms
        if history is not None and not history.selects(tp, offset, timestamp):
            return None
        return Event(
            tp[0],
            tp[1],
            offset,
            timestamp,
            TimestampType.CREATE_TIME,
            record.key,
            record.value,
            record.headers,
        )

    def batches(self) -> Iterator[list[Event]]:
        """The simulation in batches of ``batch_ms`` sim-time, groups advanced after each.

        History and news alike, unpaced; only what ``topics`` and ``start`` select.
        """
        history = self._history_start()
        batch: list[Event] = []
        horizon = self.batch_ms
        for record in self.sim.records(until_ms=self.duration_ms):
            while record.at_ms > horizon:
                yield self._close_batch(batch, horizon)
                batch, horizon = [], horizon + self.batch_ms
            if history is not None and record.at_ms > self.elapsed_ms:
                history = None  # the rest is news
            event = self._place(record, history)
            if event is not None:
                batch.append(event)
        yield self._close_batch(batch, horizon)

    def _close_batch(self, batch: list[Event], now_ms: int) -> list[Event]:
        with self._lock:
            self.now_ms = now_ms
            self.groups.advance(now_ms, self.ends)
        self.stats.events += len(batch)
        return batch

    # -- the source thread --------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="evtui-demo-source", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        """Batches in real time; those already due (the history) merged up to ``max_batch``."""
        t0 = time.monotonic() - self.elapsed_ms / 1000  # sim time 0 on the monotonic clock
        pending: list[Event] = []
        try:
            for batch in self.batches():
                due = t0 + self.now_ms / 1000 - time.monotonic()
                if due > 0 and pending:
                    if not self._put(pending):
                        break
                    pending = []
                if (due > 0 and self._stop.wait(due)) or self._stop.is_set():
                    break
                pending += batch
                if len(pending) >= self.max_batch:
                    if not self._put(pending):
                        break
                    pending = []
            else:
                if pending:
                    self._put(pending)
            self.state = SourceState.FINISHED
        finally:
            self._queue.close()

    def _put(self, events: list[Event]) -> bool:
        """Hand over events up to a batch boundary: every partition is read to its end there."""
        prepare_events(events)  # schemas fetched here, in the reader's thread
        return self._queue.put(Batch(events, self.reading()), self._stop)

    # -- the reader's side --------------------------------------------------------------------

    def reading(self) -> list[TP]:
        """The partitions this source delivers."""
        return [(t, p) for t in sorted(self._wanted) for p in range(self.partitions)]

    def group_offsets(self) -> dict[str, dict[TP, int]]:
        """A snapshot of the simulated groups' committed offsets."""
        with self._lock:
            return {g: dict(offsets) for g, offsets in self.groups.committed.items()}

    def end_offsets(self) -> dict[TP, int]:
        """Every demo partition's end (all topics, selected or not)."""
        with self._lock:
            return dict(self.ends)

    def get_batch(self, timeout: float = 0.1) -> list[Event] | None:
        return self._queue.get(timeout)

    def problems(self) -> list[Problem]:
        return []

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
