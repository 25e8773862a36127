"""What bench/soak watches in the console's process while the demo produces.

``Tail`` checks every batch the store keeps for offset gaps per partition (lossless tail);
``Stalls`` counts what the loop stall probe (bench/instruments) appends instead of keeping it,
with the last key and the collections in each long stall; ``Watchdog`` records where the UI
thread is 250 ms into a stall; ``GcTimes`` times every collection; ``tracked_types`` says
what a full collection walks.
"""

from __future__ import annotations

import gc
import sys
import threading
import time
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from soak_keys import Keys

STALL_S = 0.1


class Tail:
    """Wraps the feed's store: every kept batch is checked for offset gaps per partition."""

    def __init__(self) -> None:
        self.feed = None
        self.feeds = 0  # feeds hooked (more than one: the tail was reopened)
        self.first: dict[tuple[str, int], int] = {}
        self.last: dict[tuple[str, int], int] = {}
        self.read = 0  # events kept by the store (all of them, seen as they were kept)
        self.gaps = 0
        self.missing = 0  # offsets missing in the gaps
        self.gap_list: list[tuple[float, str, int, int, int]] = []  # (t, topic, p, after, next)
        self.clipped = 0  # kept batches larger than the window (not all seen)
        self.sampled_out_before = 0  # of earlier feeds
        self.t0 = time.perf_counter()

    def hook(self, feed) -> None:
        if self.feed is not None:
            self.sampled_out_before += self.feed.stats.sampled_out
        self.feed = feed
        self.feeds += 1
        store = feed.store
        original = store.append

        def append(events):
            before = store.next
            added = original(events)
            if added:
                if store.next - before > len(store):
                    self.clipped += store.next - before - len(store)
                self.see(store.slice(before, store.next))
            return added

        store.append = append

    def see(self, events) -> None:
        first, last = self.first, self.last
        for event in events:
            tp = (event.topic, event.partition)
            prev = last.get(tp)
            if prev is None:
                first[tp] = event.offset
            elif event.offset != prev + 1:
                self.gaps += 1
                self.missing += max(0, event.offset - prev - 1)
                if len(self.gap_list) < 50:
                    self.gap_list.append(
                        (time.perf_counter() - self.t0, tp[0], tp[1], prev, event.offset)
                    )
            last[tp] = event.offset
        self.read += len(events)

    @property
    def sampled_out(self) -> int:
        return self.sampled_out_before + (self.feed.stats.sampled_out if self.feed else 0)


class Stalls(list):
    """What the stall probe (bench/instruments) appends, counted instead of kept (no growth
    over hours)."""

    def __init__(self, keys: Keys, gc_times: GcTimes) -> None:
        super().__init__()
        self.keys = keys
        self.gc_times = gc_times
        self.samples = 0
        self.worst = 0.0
        self.worst_at = 0.0
        # (t, seconds, last key, GC pauses in it, UI thread CPU seconds) for stalls over STALL_S
        self.over: list[tuple[float, float, str, str, float]] = []
        self.over_50ms = 0
        self.count_over = 0  # stalls over STALL_S (the list keeps the first 1,000)
        self.interval_worst = 0.0
        self.interval_over = 0
        self.t0 = self.beat = time.perf_counter()

    def append(self, x: float, cpu: float = 0.0) -> None:  # type: ignore[override]
        self.beat = time.perf_counter()
        self.samples += 1
        t = time.perf_counter() - self.t0
        if x > self.worst:
            self.worst, self.worst_at = x, t
        self.interval_worst = max(self.interval_worst, x)
        if x > 0.05:
            self.over_50ms += 1
        if x > STALL_S:
            self.interval_over += 1
            self.count_over += 1
            if len(self.over) < 1000:
                gcs = self.gc_times.within(x + 0.011)
                self.over.append((t, x, self.keys.last, gcs, cpu))

    def interval(self) -> tuple[float, int]:
        out = (self.interval_worst, self.interval_over)
        self.interval_worst, self.interval_over = 0.0, 0
        return out


class Watchdog:
    """While the loop is stalled (no probe for 250 ms), where the UI thread is: once a stall."""

    def __init__(self, stalls: Stalls, flowing: threading.Event) -> None:
        self.stalls = stalls
        self.flowing = flowing
        self.main = threading.main_thread().ident
        self.seen: dict[str, int] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="bench-soak-watchdog", daemon=True)

    def _run(self) -> None:
        import traceback

        captured = 0.0
        while not self.stop.wait(0.05):
            beat = self.stalls.beat
            if not self.flowing.is_set() or beat == captured:
                continue
            if time.perf_counter() - beat < 0.25:
                continue
            captured = beat
            frame = sys._current_frames().get(self.main)
            if frame is None:
                continue
            stack = traceback.extract_stack(frame)
            del frame
            ours = [
                f"{Path(f.filename).name}:{f.lineno} {f.name}"
                for f in stack
                if "/evtui/" in f.filename
            ][-3:]
            inner = " < ".join(
                f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in stack[-2:][::-1]
            )
            where = " < ".join(reversed(ours)) or "(no evtui frame)"
            where += f"  [innermost: {inner}]"
            self.seen[where] = self.seen.get(where, 0) + 1


class GcTimes:
    def __init__(self) -> None:
        self.started = 0.0
        self.count = [0, 0, 0]
        self.worst = 0.0
        self.total = 0.0
        self.on = False
        self.recent: deque[tuple[float, int, float]] = deque(maxlen=50)  # (end, gen, seconds)
        self.cpu_started = 0.0
        self.full: list[tuple[float, float, int]] = []  # full passes: (wall s, CPU s, collected)

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self.started = time.perf_counter()
            self.cpu_started = time.thread_time()
        elif self.on:
            took = time.perf_counter() - self.started
            self.count[info["generation"]] += 1
            if info["generation"] == 2:
                cpu = time.thread_time() - self.cpu_started
                self.full.append((took, cpu, info["collected"]))
            self.worst = max(self.worst, took)
            self.total += took
            self.recent.append((time.perf_counter(), info["generation"], took))

    def within(self, seconds: float) -> str:
        """The collections that ended in the last ``seconds`` (what a stall spent in GC)."""
        since = time.perf_counter() - seconds
        return " ".join(f"gen{g} {took * 1000:.0f} ms" for t, g, took in self.recent if t >= since)


def tracked_types(top: int = 8) -> tuple[int, list[tuple[str, int]]]:
    """How many objects the cyclic collector tracks, and the most common types among them."""
    from collections import Counter

    objects = gc.get_objects()
    counts = Counter(type(o).__name__ for o in objects)
    return len(objects), counts.most_common(top)
