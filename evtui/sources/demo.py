"""The simulated shop as an in-process event source, with simulated consumer groups.

No broker needed: records get offsets per partition here, and each service's
group "commits" as it would, one slow in waves and one that stops, so lag,
traces and violations all have something real to show.
"""

from __future__ import annotations

import threading
import time
import zlib
from collections.abc import Iterator

from evtui.core.event import Event, TimestampType
from evtui.sim.model import GroupSpec, SimRecord
from evtui.sim.shop import ShopSimulator
from evtui.sources.base import BatchQueue, Problem, SourceState, SourceStats

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

    def advance(self, now_ms: int, ends: dict[TP, int]) -> None:
        """Let every group commit what it has processed by ``now_ms``."""
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

    def stopped(self, now_ms: int) -> list[str]:
        if self.stop_after_ms is None or now_ms < self.stop_after_ms:
            return []
        return [g.name for g in self.groups if g.stoppable]


class DemoSource:
    """Events from the simulator, paced in real time (``batches()`` runs unpaced)."""

    def __init__(
        self,
        sim: ShopSimulator,
        *,
        partitions: int = 3,
        duration_ms: int | None = None,
        stop_group_after_ms: int | None = 60_000,
        batch_ms: int = 50,
    ) -> None:
        self.sim = sim
        self.partitions = partitions
        self.duration_ms = duration_ms
        self.batch_ms = batch_ms
        self.state = SourceState.CONNECTED
        self.stats = SourceStats(partitions=len(sim.topics.all()) * partitions)
        self.groups = SimulatedGroups(sim.groups, stop_group_after_ms)
        self.ends: dict[TP, int] = {(t, p): 0 for t in sim.topics.all() for p in range(partitions)}
        self.now_ms = 0
        self._lock = threading.Lock()
        self._queue = BatchQueue(16)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _to_event(self, record: SimRecord) -> Event:
        tp = (record.topic, partition_for(record.key, self.partitions))
        offset = self.ends[tp]
        self.ends[tp] = offset + 1
        return Event(
            tp[0],
            tp[1],
            offset,
            self.sim.start_ms + record.at_ms,
            TimestampType.CREATE_TIME,
            record.key,
            record.value,
            record.headers,
        )

    def batches(self) -> Iterator[list[Event]]:
        """The simulation in batches of ``batch_ms`` sim-time, groups advanced after each."""
        batch: list[Event] = []
        horizon = self.batch_ms
        for record in self.sim.records(until_ms=self.duration_ms):
            while record.at_ms > horizon:
                yield self._close_batch(batch, horizon)
                batch, horizon = [], horizon + self.batch_ms
            batch.append(self._to_event(record))
        yield self._close_batch(batch, horizon)

    def _close_batch(self, batch: list[Event], now_ms: int) -> list[Event]:
        with self._lock:
            self.now_ms = now_ms
            self.groups.advance(now_ms, self.ends)
        self.stats.events += len(batch)
        return batch

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="evtui-demo-source", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        t0 = time.monotonic()
        try:
            for batch in self.batches():
                due = t0 + self.now_ms / 1000 - time.monotonic()
                if (due > 0 and self._stop.wait(due)) or self._stop.is_set():
                    break
                if batch and not self._queue.put(batch, self._stop):
                    break
            self.state = SourceState.FINISHED
        finally:
            self._queue.close()

    def group_offsets(self) -> dict[str, dict[TP, int]]:
        """A snapshot of the simulated groups' committed offsets."""
        with self._lock:
            return {g: dict(offsets) for g, offsets in self.groups.committed.items()}

    def end_offsets(self) -> dict[TP, int]:
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
