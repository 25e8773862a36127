"""Process-wide settings for a data-heavy evtui process."""

from __future__ import annotations

import gc
import time

# evtui keeps hundreds of thousands of small objects alive (events, decoded
# JSON) and creates few reference cycles. With CPython's default gen-0
# threshold of 700, full collections keep walking every kept event: measured
# in bench/ingest, 109 full collections cost 35% of source+decode time.
GC_THRESHOLDS = (50_000, 20, 100)


def tune_gc() -> None:
    """Collect less often, and never re-scan what start-up allocated."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


class PacedCollector:
    """Garbage collection on the UI's own timer, never in the middle of typing.

    CPython counts allocations minus deallocations to decide when to collect
    the young generation. A sliding window of events frees old events as fast
    as new ones arrive, so that count barely moves: collections come rarely
    and then walk every event kept since the last one (measured in bench/ui:
    100-280 ms pauses at 50,000 events/s, freezing the UI). Collecting the
    young generations on every tick keeps each pass to one tick's events (a few
    ms). Full collections walk the whole window (up to several hundred ms):
    they run while the user is idle (no key for ``idle_s``) at most every
    ``full_every_s``, and regardless after ``full_max_s``, so cyclic garbage
    stays bounded.
    """

    def __init__(
        self, idle_s: float = 2.0, full_every_s: float = 30.0, full_max_s: float = 60.0
    ) -> None:
        self.idle_s = idle_s
        self.full_every_s = full_every_s
        self.full_max_s = full_max_s
        self.full_collections = 0
        self._last_full = time.monotonic()
        self._last_input = 0.0
        self._saved: tuple[int, int, int] | None = None

    def start(self) -> None:
        """Take full collections over from CPython (undone by :meth:`stop`)."""
        self._saved = gc.get_threshold()
        gen0, gen1, _ = self._saved
        gc.set_threshold(gen0, gen1, 1_000_000_000)

    def stop(self) -> None:
        if self._saved is not None:
            gc.set_threshold(*self._saved)
            self._saved = None

    def input_seen(self) -> None:
        self._last_input = time.monotonic()

    def tick(self) -> None:
        gc.collect(1)
        now = time.monotonic()
        since = now - self._last_full
        idle = now - self._last_input >= self.idle_s
        if (idle and since >= self.full_every_s) or since >= self.full_max_s:
            gc.collect()
            self.full_collections += 1
            self._last_full = time.monotonic()
