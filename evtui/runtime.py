"""Process-wide settings for a data-heavy evtui process."""

from __future__ import annotations

import gc

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
