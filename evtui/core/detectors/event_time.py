"""Event time going backwards (``event_time_regression``), and what an event's time is.

The ``ce_time`` header, else a top-level JSON ``time``/``occurredAt``/
``eventTime``/``timestamp`` (ISO 8601, or a number read as an epoch time by
its magnitude: :func:`epoch_ms`), else the record's timestamp, going back for a
key within a partition by more than the allowed lateness (1 s by default).
"""

from __future__ import annotations

from datetime import UTC, datetime

from evtui.core.decode import raw_value
from evtui.core.detectors.common import Finding, KeyState, key_text, make_finding, ref
from evtui.core.event import Event

TIME_HEADERS = ("ce_time", "ce-time")
TIME_FIELDS = ("time", "occurredAt", "eventTime", "timestamp")


def event_time_ms(event: Event) -> tuple[int, str]:
    """The event's own time and where it came from: a header, a JSON field, else the record."""
    for name, raw in reversed(event.headers):
        if raw is not None and name.lower() in TIME_HEADERS:
            parsed = _parse_time(raw.decode("utf-8", "replace"))
            if parsed is not None:
                return parsed, name
    fields = event.peek_fields()
    if fields:
        for name in TIME_FIELDS:
            value = raw_value(fields[name]) if name in fields else None
            parsed = _parse_time(value) if isinstance(value, str) else epoch_ms(value)
            if parsed is not None:
                return parsed, name
    return event.timestamp, "record timestamp"


def _parse_time(text: str) -> int | None:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


# A number read as an epoch time: its magnitude tells the unit, and it must fall in
# 2000-01-01 .. 2100-01-01 in that unit (else it is not a time: a duration, a count).
EPOCH_FIRST_S, EPOCH_LAST_S = 946_684_800, 4_102_444_800
EPOCH_UNITS = ((1, "s"), (1_000, "ms"), (1_000_000, "us"), (1_000_000_000, "ns"))


def epoch_ms(value: object) -> int | None:
    """A JSON number as epoch milliseconds: seconds, ms, us or ns by magnitude; else None.

    ``1733300000`` is seconds, ``1733300000000`` milliseconds, ``1733300000000000``
    microseconds and ``1733300000000000000`` nanoseconds; a number that is none of
    these between the years 2000 and 2100 is not an epoch time.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if value != value or value in (float("inf"), float("-inf")):
        return None
    for per_second, _unit in EPOCH_UNITS:
        if EPOCH_FIRST_S * per_second <= value < EPOCH_LAST_S * per_second:
            return int(value * 1000 // per_second)
    return None


class EventTimeDetector:
    """Event time going back for a key, by more than ``lateness_ms``, within a partition
    (the order Kafka keeps; partitions are read in any order)."""

    def __init__(self, lateness_ms: int = 1_000, max_keys: int = 100_000) -> None:
        self.lateness_ms = lateness_ms
        self.keys = KeyState(max_keys)  # (topic, key) -> (latest time, its ref, last late id)

    def offer(self, event: Event) -> list[Finding]:
        if event.key is None:
            return []
        when, source = event_time_ms(event)
        key = (event.topic, event.key, event.partition)
        latest = self.keys.get(key)
        here = ref(event)
        if latest is None:
            self.keys.put(key, (when, here, None))
            return []
        self.keys.move_to_end(key)
        latest_ms, latest_ref, late_id = latest
        if when >= latest_ms:
            self.keys[key] = (when, here, late_id)
            return []
        if latest_ms - when <= self.lateness_ms:
            return []
        eid = event.ids.event_id
        if eid is not None and eid == late_id:
            return []  # the late event delivered again: one finding (and a duplicate_event)
        self.keys[key] = (latest_ms, latest_ref, eid)
        back = (latest_ms - when) / 1000
        return [
            make_finding(
                "event_time_regression", event, (latest_ref, here),
                expected=f"{source} at or after {_iso(latest_ms)}",
                seen=f"{_iso(when)} ({back:,.3f} s earlier)",
                explanation=f"the event time of key {key_text(event)} went back {back:,.3f} s "
                f"(allowed: {self.lateness_ms / 1000:g} s): a late or re-sent event, or a "
                "producer clock that is wrong",
            )
        ]  # fmt: skip


def _iso(ms: int) -> str:
    import time as _time

    seconds, millis = divmod(ms, 1000)
    return _time.strftime("%Y-%m-%dT%H:%M:%S", _time.gmtime(seconds)) + f".{millis:03d}Z"
