"""Event filters in CEL (Common Expression Language): safe, never ``eval``.

Names available in an expression:

* ``topic`` (string), ``partition``, ``offset``, ``timestamp`` (epoch ms, int)
* ``time`` (a CEL timestamp), ``timestamp_type`` (``"CreateTime"`` ...)
* ``key``: a string when the key is UTF-8, else bytes; ``null`` when absent
* ``value``: the decoded value (a map/list for JSON, a string for text,
  bytes for binary payloads, ``null`` for a tombstone)
* ``format``: how the value was decoded (``json``, ``text``, ``binary``, ...)
* ``headers``: a map of header name to value (string, or bytes when not UTF-8;
  the last value wins when a name repeats)
* ``size``: bytes of key + value + headers
* the event's identity (see :mod:`evtui.core.ids`; ``null`` when unknown):
  ``event_id``, ``correlation_id``, ``event_type``, ``trace_id``, ``service``,
  ``source`` (strings) and ``causation_ids`` (a list of strings)

Examples: ``value.type == "OrderPlaced" && value.amount > 100``,
``key.startsWith("order-")``, ``"traceparent" in headers``,
``correlation_id == "4bf92f3577b34da6a3ce929d0e0e4736"``,
``"3f1c..." in causation_ids``.

A record for which the expression fails at run time (a missing field, a
type mismatch, a record time past the year 9999 for ``time``) does not match;
such records are counted in ``errors``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import cel

from evtui.core.event import Event, text_or_bytes
from evtui.errors import UsageError

NAMES: tuple[str, ...] = (
    "topic",
    "partition",
    "offset",
    "timestamp",
    "time",
    "timestamp_type",
    "key",
    "value",
    "format",
    "headers",
    "size",
    "event_id",
    "correlation_id",
    "causation_ids",
    "event_type",
    "trace_id",
    "service",
    "source",
)


def _headers_map(event: Event) -> dict[str, Any]:
    return {name: text_or_bytes(value) for name, value in event.headers}


def _time(event: Event) -> datetime:
    return datetime.fromtimestamp(event.timestamp / 1000, tz=UTC)


_GETTERS = {
    "topic": lambda e: e.topic,
    "partition": lambda e: e.partition,
    "offset": lambda e: e.offset,
    "timestamp": lambda e: e.timestamp,
    "time": _time,
    "timestamp_type": lambda e: e.ts_type.label,
    "key": lambda e: text_or_bytes(e.key),
    "value": lambda e: e.peek_decoded().value,
    "format": lambda e: e.peek_decoded().format,
    "headers": _headers_map,
    "size": lambda e: e.size,
    "event_id": lambda e: e.ids.event_id,
    "correlation_id": lambda e: e.ids.correlation_id,
    "causation_ids": lambda e: list(e.ids.causation_ids),
    "event_type": lambda e: e.ids.event_type,
    "trace_id": lambda e: e.ids.trace_id,
    "service": lambda e: e.ids.service,
    "source": lambda e: e.ids.source,
}


class FilterError(UsageError):
    """An invalid filter expression."""


class Filter:
    """A compiled CEL filter; only the names it uses are computed per event."""

    def __init__(self, expression: str) -> None:
        self.expression = expression
        self.errors = 0
        self.last_error: str | None = None
        if not expression.strip():
            raise FilterError("invalid filter: the expression is empty")
        try:
            self._program = cel.compile(expression)
        except ValueError as exc:
            raise FilterError(_parse_message(expression, exc)) from None
        unknown = sorted(set(self._program.variables()) - set(NAMES))
        if unknown:
            raise FilterError(
                f"invalid filter: unknown name {', '.join(map(repr, unknown))} "
                f"(known: {', '.join(NAMES)})"
            )
        self._getters = [(n, _GETTERS[n]) for n in self._program.variables()]

    def __repr__(self) -> str:
        return f"Filter({self.expression!r})"

    def matches(self, event: Event) -> bool:
        try:
            context = {name: get(event) for name, get in self._getters}
            result = self._program.execute(context)
        except Exception as exc:  # CEL run-time errors (a missing field), a time out of range
            self.errors += 1
            reason = f"no field {exc}" if isinstance(exc, KeyError) else str(exc).splitlines()[0]
            self.last_error = f"{event.ref}: {reason[:200]}"
            return False
        if not isinstance(result, bool):
            raise FilterError(
                f"invalid filter: '{self.expression}' gives {type(result).__name__}, not true/false"
            )
        return result


def _parse_message(expression: str, exc: Exception) -> str:
    """CEL's parse error, reduced to one line that points at the column."""
    text = str(exc)
    lines = text.splitlines()
    detail = next((ln for ln in lines if "ERROR:" in ln), lines[0] if lines else text)
    detail = detail.split("ERROR:", 1)[-1].strip()
    detail = detail.removeprefix("<input>:")
    where = re.match(r"(\d+):(\d+): ", detail)
    if where:
        detail = f"at line {where[1]}, column {where[2]}: {detail[where.end() :]}"
    return f"invalid filter '{expression}': {detail}"
