"""Offsets skipped within a partition (``offset_gap``): information only."""

from __future__ import annotations

from evtui.core.detectors.common import INFO, Finding, make_finding, ref
from evtui.core.event import Event


class OffsetGapDetector:
    """Offsets skipped within a partition: information only (transaction markers, compaction)."""

    def __init__(self) -> None:
        self.last: dict[tuple[str, int], int] = {}

    def offer(self, event: Event) -> list[Finding]:
        tp = (event.topic, event.partition)
        last = self.last.get(tp)
        self.last[tp] = event.offset
        if last is None or event.offset <= last + 1:
            return []
        skipped = event.offset - last - 1
        return [
            make_finding(
                "offset_gap", event, (f"{event.topic}/{event.partition}/{last}", ref(event)),
                expected=f"offset {last + 1}", seen=f"offset {event.offset} ({skipped:,} skipped)",
                explanation="offsets without records: transaction markers, aborted "
                "transactions or compaction (usually harmless)",
                severity=INFO,
            )
        ]  # fmt: skip
