"""The OTLP/JSON export of traces built the way evtui builds them (no broker)."""

from __future__ import annotations

import io
import json
import re

from evtui_otlp import register, to_otlp, write

from evtui.core.event import Event
from evtui.core.traces import build_trace
from evtui.plugins import Registry

T0 = 1_767_225_600_000
HEX32 = re.compile(r"^[0-9a-f]{32}$")
HEX16 = re.compile(r"^[0-9a-f]{16}$")
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def ev(offset, ts, eid, *, causes=(), service=None, etype="Thing", topic="orders", headers=()):
    """An event whose ids are in its JSON value (a second cause goes in a header)."""
    value = {"eventId": eid, "correlationId": "order-42", "type": etype}
    if causes:
        value["causationId"] = causes[0]
    if service:
        value["service"] = service
    hs = tuple((n, v.encode()) for n, v in headers)
    hs += tuple(("causation-id", c.encode()) for c in causes[1:])
    return Event(topic, 0, offset, T0 + ts, 1, b"order-42", json.dumps(value).encode(), hs)


def shop_events():
    return [
        ev(0, 0, "e1", service="orders", etype="OrderPlaced"),
        ev(0, 10, "e2", causes=["e1"], service="payments", etype="PaymentTaken", topic="pay"),
        ev(0, 12, "e3", causes=["e1"], service="stock", etype="StockReserved", topic="stock"),
        ev(1, 20, "e4", causes=["e2", "e3"], service="orders", etype="OrderConfirmed"),
        ev(2, 30, "e5", causes=["e4"], etype=None),  # no service, no type
    ]


def shop_trace():
    return build_trace("order-42", shop_events())


def spans_of(doc):
    return [
        (rs["resource"], span)
        for rs in doc["resourceSpans"]
        for ss in rs["scopeSpans"]
        for span in ss["spans"]
    ]


def attrs(span):
    return {a["key"]: a["value"] for a in span["attributes"]}


def test_the_plugin_registers_the_otlp_format_of_trace():
    registry = Registry()
    register(registry)
    assert "otlp" in registry.formats("trace")
    assert registry.exporter("trace", "otlp").write is write


def test_structure_and_one_compact_line():
    out = io.StringIO()
    write(shop_trace(), out)
    text = out.getvalue()
    assert text.endswith("\n") and text.count("\n") == 1
    assert ": " not in text and ", " not in text  # compact
    doc = json.loads(text)
    assert set(doc) == {"resourceSpans"}
    for rs in doc["resourceSpans"]:
        (service,) = rs["resource"]["attributes"]
        assert service["key"] == "service.name" and "stringValue" in service["value"]
        (ss,) = rs["scopeSpans"]
        assert ss["scope"]["name"] == "evtui" and ss["scope"]["version"]
        for span in ss["spans"]:
            assert span["kind"] == 4
            assert span["startTimeUnixNano"] == span["endTimeUnixNano"]
            assert span["startTimeUnixNano"].isdigit()
    assert len(spans_of(doc)) == 5


def test_parents_follow_the_causal_edges_and_roots_have_none():
    trace = shop_trace()
    doc = to_otlp(trace)
    by_ref = {attrs(s)["evtui.ref"]["stringValue"]: s for _, s in spans_of(doc)}
    assert set(by_ref) == {e.ref for e in trace.events}
    for ref, span in by_ref.items():
        parents = trace.parents(ref)
        if not parents:
            assert "parentSpanId" not in span
            assert ref in trace.roots
        else:
            assert span["parentSpanId"] == by_ref[parents[0]]["spanId"]
    assert "parentSpanId" not in by_ref["orders[0]@0"]
    assert by_ref["pay[0]@0"]["parentSpanId"] == by_ref["orders[0]@0"]["spanId"]
    assert by_ref["orders[0]@2"]["parentSpanId"] == by_ref["orders[0]@1"]["spanId"]


def test_a_multi_parent_event_links_its_other_causes():
    trace = shop_trace()
    assert trace.parents("orders[0]@1") == ["pay[0]@0", "stock[0]@0"]
    by_ref = {attrs(s)["evtui.ref"]["stringValue"]: s for _, s in spans_of(to_otlp(trace))}
    joined = by_ref["orders[0]@1"]
    assert joined["parentSpanId"] == by_ref["pay[0]@0"]["spanId"]
    (link,) = joined["links"]
    assert link["spanId"] == by_ref["stock[0]@0"]["spanId"]
    assert link["traceId"] == joined["traceId"]
    assert all("links" not in s for r, s in by_ref.items() if r != "orders[0]@1")


def test_ids_are_hex_deterministic_and_unique():
    first = to_otlp(shop_trace())
    second = to_otlp(build_trace("order-42", list(reversed(shop_events()))))
    assert first == second
    spans = [s for _, s in spans_of(first)]
    assert len({s["spanId"] for s in spans}) == len(spans)
    for span in spans:
        assert HEX32.match(span["traceId"]) and span["traceId"] != "0" * 32
        assert HEX16.match(span["spanId"]) and span["spanId"] != "0" * 16
        assert "parentSpanId" not in span or HEX16.match(span["parentSpanId"])
    assert len({s["traceId"] for s in spans}) == 1
    other = to_otlp(build_trace("order-43", shop_events()))
    assert spans_of(other)[0][1]["traceId"] != spans[0]["traceId"]


def test_attributes_carry_topic_partition_offset_key_and_ids():
    by_ref = {attrs(s)["evtui.ref"]["stringValue"]: s for _, s in spans_of(to_otlp(shop_trace()))}
    span = by_ref["orders[0]@1"]
    a = attrs(span)
    assert a["messaging.system"] == {"stringValue": "kafka"}
    assert a["messaging.destination.name"] == {"stringValue": "orders"}
    assert a["messaging.kafka.destination.partition"] == {"intValue": "0"}
    assert a["messaging.kafka.message.offset"] == {"intValue": "1"}
    assert a["messaging.kafka.message.key"] == {"stringValue": "order-42"}
    assert a["evtui.event_id"] == {"stringValue": "e4"}
    assert a["evtui.correlation_id"] == {"stringValue": "order-42"}
    assert span["name"] == "OrderConfirmed"
    assert span["startTimeUnixNano"] == str((T0 + 20) * 1_000_000)
    assert by_ref["orders[0]@2"]["name"] == "orders"  # no type: the topic


def test_services_are_grouped_into_resources():
    doc = to_otlp(shop_trace())
    resources = [rs["resource"]["attributes"][0]["value"] for rs in doc["resourceSpans"]]
    services = [value["stringValue"] for value in resources]
    assert services == ["orders", "payments", "stock", "unknown"]  # first appearance
    orders = doc["resourceSpans"][0]["scopeSpans"][0]["spans"]
    assert [s["name"] for s in orders] == ["OrderPlaced", "OrderConfirmed"]


def test_a_carried_traceparent_gives_the_trace_and_span_ids():
    parent = "00f067aa0ba902b7"
    child = "b7ad6b7169203331"
    events = [
        ev(0, 0, "e1", headers=[("traceparent", f"00-{TRACE}-{parent}-01")]),
        ev(1, 5, "e2", causes=["e1"], headers=[("traceparent", f"00-{TRACE}-{child}-01")]),
        ev(2, 9, "e3", causes=["e2"]),  # no trace context: derived span id, same trace
    ]
    trace = build_trace("order-42", events)
    by_ref = {attrs(s)["evtui.ref"]["stringValue"]: s for _, s in spans_of(to_otlp(trace))}
    assert {s["traceId"] for s in by_ref.values()} == {TRACE}
    assert by_ref["orders[0]@0"]["spanId"] == parent
    assert by_ref["orders[0]@1"]["spanId"] == child
    assert by_ref["orders[0]@1"]["parentSpanId"] == parent
    derived = by_ref["orders[0]@2"]["spanId"]
    assert HEX16.match(derived) and derived not in (parent, child)
    assert by_ref["orders[0]@2"]["parentSpanId"] == child


def test_a_span_id_carried_twice_is_not_used():
    header = [("traceparent", f"00-{TRACE}-00f067aa0ba902b7-01")]
    events = [ev(0, 0, "e1", headers=header), ev(1, 5, "e2", causes=["e1"], headers=header)]
    spans = [s for _, s in spans_of(to_otlp(build_trace("order-42", events)))]
    ids = [s["spanId"] for s in spans]
    assert len(set(ids)) == 2 and "00f067aa0ba902b7" not in ids


def test_the_output_is_what_otlp_receivers_parse():
    """The official OTLP protobuf definitions read the JSON strictly (an unknown field or a
    value of the wrong type fails), as a collector's /v1/traces does. (OTLP/JSON writes
    trace and span ids as hex, where plain proto3 JSON would use base64: they are checked
    as hex by the tests above.)"""
    from google.protobuf import json_format
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    out = io.StringIO()
    write(build_trace("order-42", shop_events()), out)
    request = json_format.Parse(out.getvalue(), ExportTraceServiceRequest())
    spans = [s for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans]
    assert len(spans) == 5
    assert {s.kind for s in spans} == {4}  # SPAN_KIND_PRODUCER
    assert sum(1 for s in spans if s.parent_span_id) == 4
    assert sorted(len(s.links) for s in spans) == [0, 0, 0, 0, 1]  # e4: its second cause
    assert all(s.start_time_unix_nano >= 1_767_225_600 * 10**9 for s in spans)
