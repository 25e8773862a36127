"""Process-wide settings for a data-heavy evtui process."""

from __future__ import annotations

import ctypes
import gc
import sys
import time

# evtui keeps hundreds of thousands of small objects alive (events, decoded
# JSON) and creates few reference cycles. With CPython's default gen-0
# threshold of 700, full collections keep walking every kept event: measured
# in bench/ingest, 109 full collections cost 35% of source+decode time.
GC_THRESHOLDS = (50_000, 20, 100)


# glibc serves blocks from this size up with their own mappings, given back when freed.
MMAP_THRESHOLD = 256 * 1024
_M_MMAP_THRESHOLD = -3  # mallopt's parameter number (malloc.h)


def tune_gc() -> None:
    """Collect less often, never re-scan what start-up allocated; see :func:`tune_malloc`."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    tune_malloc()


def tune_malloc() -> bool:
    """Keep glibc from holding on to large blocks the process freed (True if set).

    glibc raises its mmap threshold each time a mapped block is freed (up to 32 MiB), after
    which large blocks come from the heap, where what is freed stays as RSS. bench/soak saw
    it after five minutes: the mapped part went from 136 to 21 MiB, the heap's from 90 to
    230 MiB, 160 MiB of it free but kept, the console 5% over its memory bound. A fixed
    threshold (``mallopt``) turns that off. Elsewhere (not glibc): nothing to do.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the process's own C library
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1


class PacedCollector:
    """Garbage collection on the UI's own timer, never in the middle of typing.

    CPython counts allocations minus deallocations to decide when to collect
    the young generation. A sliding window of events frees old events as fast
    as new ones arrive, so that count barely moves: collections come rarely
    and then walk every event kept since the last one (measured in bench/ui:
    100-280 ms pauses at 50,000 events/s). Collecting the young generations on
    every tick keeps each pass to one tick's events (a few ms).

    Full collections walk every tracked object. The window's events are not
    tracked (``native.untrack``), which leaves the console's indexes and
    Textual's objects (some 190,000 live in bench/soak) plus the cyclic garbage
    Textual's rendering sheds (thousands of objects a second). Left for 30-60 s,
    that garbage doubled what a pass walked (0.5-1.1 s pauses); so a full
    collection runs every ``full_every_s`` when no key came for ``idle_s``, and
    regardless after ``full_max_s`` (0.15-0.3 s a pass in bench/soak: still
    over its 100 ms goal). ``gc.freeze`` for good is no answer: bench/soak found 296,000
    objects of that garbage frozen after two minutes. Once, when the console
    is up (``settle_s`` after :meth:`start`: its screens composed, its modules
    imported), what is alive is frozen: the code, the widgets and their styles
    live as long as the console (a one-off; :meth:`stop` thaws it).
    """

    def __init__(
        self,
        idle_s: float = 0.3,
        full_every_s: float = 3.0,
        full_max_s: float = 10.0,
        settle_s: float = 1.0,
    ) -> None:
        self.idle_s = idle_s
        self.full_every_s = full_every_s
        self.settle_s = settle_s
        self.frozen = 0  # objects frozen once the console was up
        self._started = 0.0
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
        self._started = time.monotonic()

    def stop(self) -> None:
        if self._saved is not None:
            gc.set_threshold(*self._saved)
            self._saved = None
        if self.frozen:
            gc.unfreeze()  # whatever runs next collects as CPython does
            self.frozen = 0

    def input_seen(self) -> None:
        self._last_input = time.monotonic()

    def tick(self) -> None:
        gc.collect(1)
        now = time.monotonic()
        if not self.frozen and self._started and now - self._started >= self.settle_s:
            gc.collect()
            gc.freeze()
            self.frozen = max(1, gc.get_freeze_count())
            self._last_full = time.monotonic()
            return
        since = now - self._last_full
        idle = now - self._last_input >= self.idle_s
        if (idle and since >= self.full_every_s) or since >= self.full_max_s:
            gc.collect()
            self.full_collections += 1
            self._last_full = time.monotonic()
