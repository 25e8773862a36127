"""An evtui trace as OTLP/JSON: one span per event, parents from the causal edges.

The mapping (see the README for why):

- one ``resourceSpans`` entry per service (``service.name``): the event's
  service, else its CloudEvents source, else ``unknown``; in order of each
  service's first event;
- one span per event, in time order: ``name`` is the event type, else the
  topic; ``kind`` 4 (PRODUCER: a record is a message sent);
  ``startTimeUnixNano`` = ``endTimeUnixNano`` = the record timestamp in ns
  (a record is an instant; the waits show as gaps between spans);
- ``traceId``: the W3C/B3 trace id the events carry (the one most of them
  carry; a 64-bit B3 id is left-padded with zeros), else the first 16 bytes
  of sha256 of the correlation id;
- ``spanId``: the event's own span id when it is 16 hex, not zero and unique
  in the trace, else the first 8 bytes of sha256 of the event's ref
  (``topic[partition]@offset``);
- ``parentSpanId``: the span of the event's first cause (time order) in the
  trace graph; its other causes are ``links``; roots have none;
- attributes: OpenTelemetry's messaging conventions for Kafka and evtui's ids.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from typing import Any, TextIO

from evtui import __version__ as EVTUI_VERSION
from evtui.core.traces import key_text

PRODUCER = 4  # SpanKind.SPAN_KIND_PRODUCER
UNKNOWN_SERVICE = "unknown"
_HEX32 = re.compile(r"^[0-9a-f]{32}$")
_HEX16 = re.compile(r"^[0-9a-f]{16}$")
_ZERO32 = "0" * 32
_ZERO16 = "0" * 16


def write(trace: Any, out: TextIO) -> None:
    """Write ``trace`` (an :class:`evtui.core.traces.Trace`) as one compact JSON line."""
    out.write(json.dumps(to_otlp(trace), separators=(",", ":"), ensure_ascii=False))
    out.write("\n")


def to_otlp(trace: Any) -> dict:
    """The ``ExportTraceServiceRequest`` (OTLP/JSON) of ``trace``."""
    events = list(trace.events)
    nodes = trace.graph.nodes
    refs = [e.ref for e in events]
    order = {ref: i for i, ref in enumerate(refs)}
    trace_id = trace_id_of(trace)
    spans = span_ids(events)
    by_service: dict[str, list[dict]] = {}
    for event, ref in zip(events, refs, strict=True):
        attrs = nodes[ref]
        parents = sorted(
            (p for p in trace.graph.predecessors(ref) if p in order), key=order.__getitem__
        )
        span = _span(trace, event, attrs, trace_id, spans, parents)
        by_service.setdefault(service_of(event, attrs), []).append(span)
    scope = {"name": "evtui", "version": EVTUI_VERSION}
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": [_kv("service.name", service)]},
                "scopeSpans": [{"scope": scope, "spans": service_spans}],
            }
            for service, service_spans in by_service.items()
        ]
    }


def _span(
    trace: Any,
    event: Any,
    attrs: dict,
    trace_id: str,
    spans: dict[str, str],
    parents: list[str],
) -> dict:
    ref = event.ref
    ids = event.ids
    nanos = str(int(event.timestamp) * 1_000_000)
    span: dict[str, Any] = {
        "traceId": trace_id,
        "spanId": spans[ref],
    }
    if parents:
        span["parentSpanId"] = spans[parents[0]]
    span["name"] = attrs.get("event_type") or event.topic
    span["kind"] = PRODUCER
    span["startTimeUnixNano"] = nanos
    span["endTimeUnixNano"] = nanos
    attributes = [
        _kv("messaging.system", "kafka"),
        _kv("messaging.operation.type", "send"),
        _kv("messaging.destination.name", event.topic),
        _kv("messaging.kafka.destination.partition", int(event.partition)),
        _kv("messaging.kafka.message.offset", int(event.offset)),
    ]
    key = key_text(event.key)
    if key is not None:
        attributes.append(_kv("messaging.kafka.message.key", key))
    attributes.append(_kv("evtui.ref", ref))
    if attrs.get("event_id"):
        attributes.append(_kv("evtui.event_id", str(attrs["event_id"])))
    attributes.append(_kv("evtui.correlation_id", ids.correlation_id or trace.correlation_id))
    if attrs.get("event_type"):
        attributes.append(_kv("evtui.event_type", str(attrs["event_type"])))
    if parents:
        kind = trace.graph.edges[parents[0], ref].get("kind")
        if kind:
            attributes.append(_kv("evtui.edge.kind", str(kind)))
    span["attributes"] = attributes
    links = []
    for parent in parents[1:]:
        kind = trace.graph.edges[parent, ref].get("kind")
        link: dict[str, Any] = {"traceId": trace_id, "spanId": spans[parent]}
        link_attrs = [_kv("evtui.ref", parent)]
        if kind:
            link_attrs.append(_kv("evtui.edge.kind", str(kind)))
        link["attributes"] = link_attrs
        links.append(link)
    if links:
        span["links"] = links
    return span


def service_of(event: Any, attrs: dict) -> str:
    """The event's service, else its CloudEvents source, else ``unknown``."""
    ids = event.ids
    return attrs.get("service") or ids.service or attrs.get("source") or UNKNOWN_SERVICE


def _normal_trace_id(value: str | None) -> str | None:
    """A 32-hex, non-zero trace id (a 16-hex B3 id left-padded), else None."""
    if not value:
        return None
    text = value.strip().lower().replace("-", "")
    if _HEX16.match(text):
        text = text.rjust(32, "0")
    if _HEX32.match(text) and text != _ZERO32:
        return text
    return None


def trace_id_of(trace: Any) -> str:
    """The trace id most events carry (the earliest on a tie), else one from the correlation id."""
    carried = [t for t in (_normal_trace_id(e.ids.trace_id) for e in trace.events) if t]
    if carried:
        counts = Counter(carried)
        best = max(counts.values())
        return next(t for t in carried if counts[t] == best)
    return _derived(f"correlation:{trace.correlation_id}", 16)


def span_ids(events: list[Any]) -> dict[str, str]:
    """Each event's span id (by ref): its own when valid and unique, else derived from the ref."""
    own: dict[str, str] = {}
    for event in events:
        span = (event.ids.span_id or "").strip().lower()
        if _HEX16.match(span) and span != _ZERO16:
            own[event.ref] = span
    counts = Counter(own.values())
    taken = {span for span, n in counts.items() if n == 1}
    result: dict[str, str] = {}
    for event in events:
        ref = event.ref
        span = own.get(ref)
        if span is not None and counts[span] == 1:
            result[ref] = span
            continue
        salt = 0
        while True:
            span = _derived(f"span:{ref}" + (f"#{salt}" if salt else ""), 8)
            if span not in taken:
                break
            salt += 1
        taken.add(span)
        result[ref] = span
    return result


def _derived(text: str, size: int) -> str:
    """``size`` bytes of sha256 of ``text``, as hex; never all zeros."""
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[: 2 * size]
    if digest == "0" * (2 * size):  # as good as impossible, but an all-zero id is invalid
        digest = "0" * (2 * size - 1) + "1"
    return digest


def _kv(key: str, value: str | int | bool) -> dict:
    """An OTLP KeyValue (int64 as a decimal string, per the protobuf JSON mapping)."""
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    return {"key": key, "value": {"stringValue": str(value)}}
