"""Event identity extraction: every default convention, bad input, precedence, the demo.

Timing (Python 3.11, this machine, 20 000 seeded demo events, ``extract_ids`` per event):
about 5-6 µs for header-only CloudEvents binary events (body never decoded) and
5.5-6.5 µs for the others when the value is already decoded; 7-8 µs when the
extraction also pays for decoding the JSON body. Target: < 10 µs. User rules: with none
installed the hook costs nothing measurable (interleaved A/B against the code before rules:
0.99-1.02x); three rules (a header fallback, a JSON-path override, a header+regex fallback)
add about 0.8-0.9 µs per event; a rule limited to other topics adds nothing.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evtui.core import ids as ids_mod
from evtui.core.event import Event
from evtui.core.ids import (
    EMPTY,
    MAX_LEN,
    NO_RULES,
    EventIds,
    IdRule,
    IdRules,
    active_rules,
    canonical_trace_id,
    extract_ids,
    parse_b3,
    parse_b3_multi,
    parse_traceparent,
    parse_uber,
    set_rules,
    shown_id,
)
from evtui.sim.model import FaultRates
from evtui.sim.shop import ShopSimulator

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN = "00f067aa0ba902b7"
PAD = "0" * 16  # a 64-bit trace id's upper half in its 128-bit form
PARENT = "b7ad6b7169203331"
JSON_CT = ("content-type", b"application/json")


def ev(headers=(), value=None):
    if isinstance(value, dict | list):
        value = json.dumps(value).encode()
    hs = tuple((n, v.encode() if isinstance(v, str) else v) for n, v in headers)
    return Event("t", 0, 0, 0, 1, None, value, hs)


def ids(headers=(), value=None):
    return extract_ids(ev(headers, value))


# -- nothing to find --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        None,
        b"",
        b"plain text",
        b"\x00\x01\xff",
        b'{"a": 1',
        b"[1, 2, 3]",
        b'"just a string"',
        b"42",
    ],
)
def test_no_ids_gives_the_shared_empty(value):
    assert ids((("x-other", "1"),), value) is EMPTY
    assert EventIds(None, None, (), None, None, None, None, None, None) == EMPTY


def test_json_array_body_is_ignored():
    body = [{"eventId": "e1", "correlationId": "c1", "type": "T"}]
    assert ids((JSON_CT,), body) is EMPTY


# -- W3C trace context ------------------------------------------------------------------------


def test_traceparent_gives_trace_span_and_fallback_correlation():
    got = ids((("traceparent", f"00-{TRACE}-{SPAN}-01"), ("tracestate", "rojo=00f067aa0ba902b7")))
    assert (got.trace_id, got.span_id, got.parent_span_id) == (TRACE, SPAN, None)
    assert got.correlation_id == TRACE


@pytest.mark.parametrize(
    "value",
    [
        f"00-{TRACE[:-1]}-{SPAN}-01",  # short trace id
        f"00-{TRACE}0-{SPAN}-01",  # long trace id
        f"00-{TRACE}-{SPAN[:-1]}-01",  # short span id
        f"00-{'0' * 32}-{SPAN}-01",  # all-zero trace id
        f"00-{TRACE}-{'0' * 16}-01",  # all-zero span id
        f"00-{TRACE[:-1]}g-{SPAN}-01",  # not hex
        f"ff-{TRACE}-{SPAN}-01",  # forbidden version
        f"00-{TRACE}-{SPAN}-01-extra",  # version 00 has exactly four fields
        f"00-{TRACE}-{SPAN}",  # no flags
        f"00_{TRACE}_{SPAN}_01",
        "",
        "garbage",
    ],
)
def test_malformed_traceparent_is_ignored(value):
    assert parse_traceparent(value) is None
    assert ids((("traceparent", value),)).trace_id is None


def test_upper_case_traceparent_is_read_in_lower_case():
    # W3C asks for lower case, but real systems send upper case: accepted, stored lower
    value = f"00-{TRACE.upper()}-{SPAN.upper()}-01"
    assert parse_traceparent(value) == (TRACE, SPAN, None)
    assert parse_traceparent(f"FF-{TRACE}-{SPAN}-01") is None  # still a forbidden version


def test_future_traceparent_version_may_carry_more_fields():
    assert parse_traceparent(f"01-{TRACE}-{SPAN}-01-more") == (TRACE, SPAN, None)


def test_invalid_traceparent_falls_through_to_the_next_trace_header():
    got = ids((("traceparent", f"00-{'0' * 32}-{SPAN}-01"), ("b3", f"{TRACE}-{SPAN}")))
    assert got.trace_id == TRACE


# -- B3 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (f"{TRACE}-{SPAN}", (TRACE, SPAN, None)),
        (f"{TRACE}-{SPAN}-1", (TRACE, SPAN, None)),
        (f"{TRACE}-{SPAN}-d-{PARENT}", (TRACE, SPAN, PARENT)),
        (f"{TRACE[:16]}-{SPAN}-0-{PARENT}", (PAD + TRACE[:16], SPAN, PARENT)),  # 64-bit, padded
        (f"{TRACE.upper()}-{SPAN}", (TRACE, SPAN, None)),  # read leniently, stored lower
        ("0", None),  # deny-only sampling
        ("1", None),
        ("d", None),
        (f"{TRACE[:20]}-{SPAN}", None),  # 80-bit: neither 64 nor 128
        (f"{TRACE}-{SPAN}-x", None),
        (f"{TRACE}-{SPAN}-1-{PARENT}-extra", None),
        (f"{'0' * 32}-{SPAN}", None),
    ],
)
def test_b3_single(value, expected):
    assert parse_b3(value) == expected
    assert ids((("b3", value),)).trace_id == (expected and expected[0])


def test_b3_multi_headers():
    got = ids(
        (
            ("X-B3-TraceId", TRACE[:16]),
            ("X-B3-SpanId", SPAN),
            ("X-B3-ParentSpanId", PARENT),
            ("X-B3-Sampled", "1"),
        )
    )
    assert (got.trace_id, got.span_id, got.parent_span_id) == (PAD + TRACE[:16], SPAN, PARENT)


def test_b3_multi_with_a_bad_span_keeps_the_trace_and_a_bad_trace_gives_nothing():
    got = ids((("X-B3-TraceId", TRACE), ("X-B3-SpanId", "xyz")))
    assert (got.trace_id, got.span_id) == (TRACE, None)
    assert ids((("X-B3-TraceId", "abc"), ("X-B3-SpanId", SPAN))) is EMPTY


# -- Jaeger -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (f"{TRACE}:{SPAN}:0:1", (TRACE, SPAN, None)),
        (f"{TRACE}:{SPAN}:{PARENT}:1", (TRACE, SPAN, PARENT)),
        ("abc:def:0:1", ("0" * 29 + "abc", "0000000000000def", None)),  # left-padded
        (f"{TRACE[16:]}:{SPAN}:0:1", (PAD + TRACE[16:], SPAN, None)),  # a 64-bit id
        (f"{TRACE}%3A{SPAN}%3A0%3A1", (TRACE, SPAN, None)),  # URL-encoded
        (f"{TRACE}:{SPAN}:0", None),
        (f"0:{SPAN}:0:1", None),
        (f"{TRACE}:0:0:1", None),
        (f"{TRACE}0:{SPAN}:0:1", None),  # 33 hex digits
        ("not:a:trace:id", None),
    ],
)
def test_uber_trace_id(value, expected):
    assert parse_uber(value) == expected
    assert ids((("uber-trace-id", value),)).trace_id == (expected and expected[0])


def test_trace_header_order():
    headers = [
        ("uber-trace-id", f"{'1' * 32}:{SPAN}:0:1"),
        ("X-B3-TraceId", "2" * 32),
        ("b3", f"{'3' * 32}-{SPAN}"),
        ("traceparent", f"00-{'4' * 32}-{SPAN}-01"),
    ]
    for expected in "4321":
        assert ids(headers).trace_id == expected * 32
        headers.pop()


# -- CloudEvents ------------------------------------------------------------------------------


@pytest.mark.parametrize("sep", ["_", "-"])
def test_cloudevents_binary_mode(sep):
    got = ids(
        (
            (f"ce{sep}specversion", "1.0"),
            (f"ce{sep}id", "e-1"),
            (f"ce{sep}source", "/shop/inventory"),
            (f"ce{sep}type", "shop.inventory.StockReserved"),
            (f"ce{sep}time", "2026-01-01T00:00:00Z"),
            (f"ce{sep}subject", "sku-1"),
            (f"ce{sep}correlationid", "c-1"),
            (f"ce{sep}causationid", "e-0"),
        ),
        b"not json, never read",
    )
    assert got == EventIds(
        event_id="e-1",
        correlation_id="c-1",
        causation_ids=("e-0",),
        event_type="shop.inventory.StockReserved",
        source="/shop/inventory",
    )


def test_complete_headers_leave_the_body_undecoded():
    event = ev((("ce_id", "e"), ("ce_type", "T"), ("ce_correlationid", "c")), {"a": 1})
    assert event.ids.event_id == "e"
    assert event._decoded is None


def test_cloudevents_structured_mode():
    body = {
        "specversion": "1.0",
        "id": "e-2",
        "source": "/shop/shipping",
        "type": "shop.shipping.ShipmentCreated",
        "correlationid": "c-2",
        "causationid": "e-1",
        "data": {"eventId": "inner", "correlationId": "not this one"},
    }
    ct = ("content-type", "application/cloudevents+json; charset=UTF-8")
    got = ids((ct,), body)
    assert (got.event_id, got.source, got.event_type) == ("e-2", "/shop/shipping", body["type"])
    assert (got.correlation_id, got.causation_ids) == ("c-2", ("e-1",))
    assert ids((JSON_CT,), body) == got  # specversion alone marks a structured event


def test_structured_cloudevent_id_needs_no_type_rule_but_source_stays_apart():
    ct = ("Content-Type", "APPLICATION/CLOUDEVENTS+JSON")
    got = ids((ct,), {"id": "e-3", "source": "/a/b"})
    assert (got.event_id, got.source, got.service) == ("e-3", "/a/b", None)


def test_cloudevents_batch_is_ignored():
    ct = ("content-type", "application/cloudevents-batch+json")
    assert ids((ct,), [{"specversion": "1.0", "id": "e", "type": "T"}]) is EMPTY


# -- event-store, NServiceBus, MassTransit -----------------------------------------------------


def test_event_store_metadata():
    body = {
        "eventId": "e-5",
        "eventType": "NotificationSent",
        "data": {"correlationId": "not this"},
        "metadata": {"$correlationId": "c-5", "$causationId": "e-4"},
    }
    got = ids((JSON_CT,), body)
    assert (got.event_id, got.event_type) == ("e-5", "NotificationSent")
    assert (got.correlation_id, got.causation_ids) == ("c-5", ("e-4",))


def test_event_store_root_event_has_null_causation():
    got = ids((), {"eventId": "e", "metadata": {"$correlationId": "c", "$causationId": None}})
    assert (got.correlation_id, got.causation_ids) == ("c", ())


def test_nservicebus_headers():
    got = ids(
        (
            ("NServiceBus.MessageId", "m-1"),
            ("NServiceBus.ConversationId", "conv-1"),
            ("NServiceBus.RelatedTo", "m-0"),
            ("NServiceBus.OriginatingEndpoint", "Sales"),
            (
                "NServiceBus.EnclosedMessageTypes",
                "Shop.Messages.OrderPlaced, Shop.Messages, Version=1.0.0.0;Shop.IOrderEvent, Shop",
            ),
        )
    )
    assert got == EventIds(
        event_id="m-1",
        correlation_id="conv-1",
        causation_ids=("m-0",),
        service="Sales",
        event_type="Shop.Messages.OrderPlaced",
    )


def test_masstransit_headers_and_envelope():
    headers = (
        ("MessageId", "m-1"),
        ("CorrelationId", "corr-1"),
        ("ConversationId", "conv-1"),
        ("MT-InitiatorId", "m-0"),
    )
    got = ids(headers)
    assert (got.event_id, got.correlation_id, got.causation_ids) == ("m-1", "corr-1", ("m-0",))
    assert ids(headers[:1] + headers[2:]).correlation_id == "conv-1"
    envelope = {"messageId": "m-2", "conversationId": "conv-2", "initiatorId": "m-1"}
    got = ids((("content-type", "application/vnd.masstransit+json"),), envelope)
    assert (got.event_id, got.correlation_id, got.causation_ids) == ("m-2", "conv-2", ("m-1",))


# -- generic names ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "correlation-id",
        "Correlation-Id",
        "correlation_id",
        "x-correlation-id",
        "X_Correlation_ID",
        "correlationId",
        "CORRELATIONID",
    ],
)
def test_correlation_header_names_are_normalised(name):
    assert ids(((name, "c-9"),)).correlation_id == "c-9"


@pytest.mark.parametrize("name", ["correlationId", "correlation_id", "x-correlation-id"])
def test_correlation_json_names(name):
    assert ids((), {name: "c-9"}).correlation_id == "c-9"
    assert ids((), {"metadata": {name: "c-9"}}).correlation_id == "c-9"


def test_generic_headers():
    got = ids(
        (
            ("event-id", "e-1"),
            ("causation-id", "e-0"),
            ("event-type", "OrderPlaced"),
            ("service", "storefront"),
        )
    )
    assert got == EventIds(
        event_id="e-1", causation_ids=("e-0",), event_type="OrderPlaced", service="storefront"
    )
    assert ids((("message-id", "m"), ("producer", "p"), ("type", "T"))).service == "p"
    assert ids((("__TypeId__", "com.shop.OrderPlaced"),)).event_type == "com.shop.OrderPlaced"


@pytest.mark.parametrize("field", ["type", "eventType", "event_type", "$type", "EventType"])
def test_json_type_fields(field):
    assert ids((), {field: "OrderPlaced"}).event_type == "OrderPlaced"


def test_json_id_only_counts_next_to_a_type():
    assert ids((), {"id": "e-1", "type": "OrderPlaced"}).event_id == "e-1"
    assert ids((), {"id": 42, "name": "widget"}) is EMPTY  # an entity, not an event
    assert ids((), {"id": "x", "type": 7}).event_id is None  # a numeric type is no event type
    assert ids((), {"id": "x", "eventId": "e"}).event_id == "e"
    assert ids((("id", "h"), ("type", "T"))).event_id is None  # never a header


def test_json_values_strings_and_integers_only():
    assert ids((), {"eventId": 12345, "type": "T"}).event_id == "12345"
    for bad in (True, 1.5, None, ["a"], {"a": 1}, 10**400):
        assert ids((), {"eventId": bad, "type": "T"}).event_id is None


def test_metadata_is_read_at_the_top_level_only():
    assert ids((), {"metadata": {"metadata": {"correlationId": "deep"}}}) is EMPTY
    assert ids((), {"data": {"correlationId": "nested"}}) is EMPTY
    assert ids((), {"metadata": "not an object"}) is EMPTY


# -- values -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"\xff\xfe\x00binary",  # not UTF-8
        b"\x00\x01\x02",  # UTF-8, but control characters
        b"a\nb",
        b"   ",
        b"",
        None,
        b"x" * (MAX_LEN + 1),
        b"x" * 10_000,  # a 10 kB header value
    ],
)
def test_unusable_header_values_are_ignored(raw):
    assert ids((("correlation-id", raw),)) is EMPTY


def test_the_cap_counts_characters_not_bytes():
    assert ids((("correlation-id", "é".encode() * MAX_LEN),)).correlation_id == "é" * MAX_LEN
    assert ids((("correlation-id", "é".encode() * (MAX_LEN + 1)),)) is EMPTY


def test_values_are_stripped_and_capped_after_stripping():
    assert ids((("correlation-id", b"  c-1 \t"),)).correlation_id == "c-1"
    padded = b" " * 2000 + b"c" * MAX_LEN + b" " * 2000
    assert ids((("correlation-id", padded),)).correlation_id == "c" * MAX_LEN
    assert ids((), {"correlationId": " " + "c" * (MAX_LEN + 1)}).correlation_id is None
    assert ids((), {"correlationId": "  "}).correlation_id is None


def test_odd_header_names_and_values_never_raise():
    got = ids(((b"bytes-name", b"v"), ("", b"v"), ("correlation-id", "c")))
    assert got.correlation_id == "c"
    assert ids((("correlation-id", bytearray(b"c")),)) is EMPTY


def test_invalid_json_is_not_parsed_for_ids():
    event = ev((JSON_CT,), b'{"correlationId": "c-1", ')
    assert event.ids is EMPTY
    assert event.decoded.error.startswith("invalid JSON")


def test_name_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(ids_mod, "_CACHE_LIMIT", 3)
    table = ids_mod._Table(ids_mod.HEADER_RULES)
    for i in range(10):
        table.learn(f"x-{i}")
    assert len(table.cache) == 3
    assert table.learn("X_Correlation_ID") == table.rules["x-correlation-id"]


# -- precedence -------------------------------------------------------------------------------


def test_correlation_precedence_explicit_then_conversation_then_trace():
    tp = ("traceparent", f"00-{TRACE}-{SPAN}-01")
    conv = ("NServiceBus.ConversationId", "conv")
    corr = ("x-correlation-id", "corr")
    assert ids((tp,)).correlation_id == TRACE
    assert ids((tp, conv)).correlation_id == "conv"
    assert ids((corr, tp, conv)).correlation_id == "corr"
    assert ids((tp, conv), {"correlationId": "body"}).correlation_id == "body"  # rank beats place
    assert ids((tp,), {"conversationId": "conv-body"}).correlation_id == "conv-body"
    assert ids((tp, conv)).trace_id == TRACE  # the trace id is kept either way


def test_headers_beat_the_body_and_the_top_level_beats_metadata():
    body = {"correlationId": "top", "metadata": {"correlationId": "meta"}}
    assert ids((("correlation-id", "hdr"),), body).correlation_id == "hdr"
    assert ids((), body).correlation_id == "top"
    assert ids((), {"metadata": {"correlationId": "meta"}}).correlation_id == "meta"


def test_repeated_header_last_wins_but_every_cause_is_kept():
    got = ids(
        (
            ("correlation-id", "first"),
            ("correlation-id", "last"),
            ("NServiceBus.RelatedTo", "related"),
            ("causation-id", "c1"),
            ("causation-id", "c2"),
            ("causation-id", "c1"),
        ),
        {"causationId": "c3"},
    )
    assert got.correlation_id == "last"
    assert got.causation_ids == ("c1", "c2", "c3", "related")  # best rank first, no repeats


def test_event_id_precedence():
    assert ids((("message-id", "m"), ("event-id", "e"))).event_id == "e"
    assert ids((("message-id", "m"),), {"id": "i", "type": "T"}).event_id == "m"
    assert ids((), {"id": "i", "type": "T", "messageId": "m"}).event_id == "m"


def test_event_type_precedence():
    assert ids((("type", "generic"),), {"eventType": "explicit"}).event_type == "explicit"
    assert ids((("ce_type", "ce"),), {"type": "body"}).event_type == "ce"


# -- the demo simulator: the ground truth for every service's events ---------------------------


def test_every_demo_event_gives_the_ground_truth_ids():
    faults = FaultRates(0.05, 0.05, 0.05, 0.05, 0.05)
    sim = ShopSimulator(seed=5, rate=300, faults=faults)
    records = sim.take(6000)
    services = set()
    flows: dict[str, list[str]] = {}
    for r in records:
        got = Event(r.topic, 0, 0, 0, 1, r.key, r.value, r.headers).ids
        assert got.correlation_id == r.correlation_id, (r.service, r.event_type)
        assert got.event_id == r.event_id
        assert got.causation_ids == ((r.causation_id,) if r.causation_id else ())
        assert got.event_type and got.event_type.endswith(r.event_type)
        services.add(r.service)
        if got.event_id not in flows.get(got.correlation_id, ()):  # duplicates count once
            flows.setdefault(got.correlation_id, []).append(got.event_id)
    assert services == {"storefront", "inventory", "payment", "shipping", "notification"}
    assert flows == sim.truth.flows  # grouping by extracted correlation gives the true flows


def test_cloudevent_attributes_are_top_level_only():
    body = {"specversion": "1.0", "type": "T", "metadata": {"id": "meta-id", "source": "/m"}}
    got = ids((), body)
    assert (got.event_id, got.source, got.event_type) == (None, None, "T")


# -- user rules -------------------------------------------------------------------------------

REQ = "0af7651916cd43dd8448eb211c80319c"


@pytest.fixture
def rules():
    """Install rules for one test (``rules(IdRule(...), ...)``); cleared afterwards."""

    def install(*given: IdRule, ignore: tuple[str, ...] = ()) -> None:
        set_rules(IdRules(given, ignore))

    yield install
    set_rules()


def on(topic, headers=(), value=None):
    event = ev(headers, value)
    return extract_ids(Event(topic, 0, 0, 0, 1, None, event.value, event.headers))


def test_no_rules_by_default_and_set_rules_clears():
    assert active_rules() == NO_RULES
    rule = IdRule("correlation_id", header="X-Request-Id")
    assert set_rules([rule]) == IdRules((rule,)) == active_rules()
    try:
        assert ids((("X-Request-Id", "r1"),)).correlation_id == "r1"
    finally:
        assert set_rules() == NO_RULES
    assert ids((("X-Request-Id", "r1"),)) is EMPTY


def test_header_rule_is_a_fallback_by_default(rules):
    rules(IdRule("correlation_id", header="x_request_id"))  # names normalised like built-ins
    assert ids((("X-Request-Id", "r1"),)).correlation_id == "r1"
    assert ids((("X-Request-Id", "r1"), ("correlation-id", "c1"))).correlation_id == "c1"
    assert ids((("correlation-id", "c1"),)).correlation_id == "c1"
    assert ids((("x-other", "1"),)) is EMPTY


def test_override_rule_wins_when_it_finds_a_value(rules):
    rules(IdRule("correlation_id", header="X-Request-Id", override=True))
    got = ids((("correlation-id", "c1"), ("X-Request-Id", "r1")), {"correlationId": "b1"})
    assert got.correlation_id == "r1"
    assert ids((("correlation-id", "c1"),)).correlation_id == "c1"  # found nothing: built-in


def test_fallback_correlation_comes_before_the_trace_id(rules):
    rules(IdRule("correlation_id", header="X-Request-Id"))
    tp = ("traceparent", f"00-{TRACE}-{SPAN}-01")
    got = ids((tp, ("X-Request-Id", "r1")))
    assert (got.correlation_id, got.trace_id, got.span_id) == ("r1", TRACE, SPAN)
    assert ids((tp,)).correlation_id == TRACE


def test_first_rule_wins_per_field_and_last_repeated_header(rules):
    rules(
        IdRule("event_id", header="x-a"),
        IdRule("event_id", header="x-b"),
    )
    assert ids((("x-b", "b"), ("x-a", "a1"), ("x-a", "a2"))).event_id == "a2"
    assert ids((("x-b", "b"),)).event_id == "b"


def test_json_path_rules(rules):
    rules(
        IdRule("correlation_id", json="meta.requestId"),
        IdRule("event_id", json="items.0.id"),
        IdRule("event_type", json="items.-1.kind"),
        IdRule("service", json="by.0"),  # a key "0" in an object
    )
    body = {
        "meta": {"requestId": "r1"},
        "items": [{"id": 7, "kind": "first"}, {"id": 8, "kind": "last"}],
        "by": {"0": "svc"},
    }
    got = ids((), body)
    assert (got.correlation_id, got.event_id, got.event_type, got.service) == (
        "r1",
        "7",
        "last",
        "svc",
    )
    assert ids((), {"meta": "flat", "items": [], "by": []}) is EMPTY
    assert ids((), {"by": [1]}).service == "1"  # an index into a list
    assert ids((), {"meta": {"requestId": {"nested": 1}}, "items": [{"id": True}]}) is EMPTY
    assert ids((), b"meta.requestId=r1") is EMPTY  # not JSON


def test_regex_named_group_unnamed_group_and_no_match(rules):
    rules(
        IdRule("correlation_id", header="x-req", regex=r"req=(?P<id>[0-9a-f]{32})"),
        IdRule("event_id", json="ref", regex=r"^evt:([\w-]+)$"),
        IdRule("service", header="x-origin", regex=r"(?:svc=(\w+))?"),  # group may not take part
    )
    got = ids((("x-req", f"v=1;req={REQ};x=2"), ("x-origin", "host=a")), {"ref": "evt:e-1"})
    assert (got.correlation_id, got.event_id, got.service) == (REQ, "e-1", None)
    assert ids((("x-req", "req=zz"),), {"ref": "other:e-1"}) is EMPTY


def test_regex_result_obeys_the_value_limits(rules):
    rules(IdRule("correlation_id", header="x-req", regex=r"^a(.*)b$"))
    assert ids((("x-req", "a   b"),)) is EMPTY  # blank after stripping
    assert ids((("x-req", "a\x01b"),)) is EMPTY
    assert ids((("x-req", "a c b"),)).correlation_id == "c"


@pytest.mark.parametrize(
    "raw", [b"\xff\xfe", b"a" * (MAX_LEN + 1), b"bad\nvalue", b"", b"  ", None, "é".encode() * 300]
)
def test_rule_header_values_obey_the_limits(rules, raw):
    rules(IdRule("correlation_id", header="x-req"))
    assert ids((("x-req", raw),)) is EMPTY


@pytest.mark.parametrize("value", ["a" * (MAX_LEN + 1), "bad\x00value", " ", 1.5, True, 10**300])
def test_rule_json_values_obey_the_limits(rules, value):
    rules(IdRule("correlation_id", json="meta.id"))
    assert ids((), {"meta": {"id": value}}) is EMPTY
    assert ids((), {"meta": {"id": " é" * 128}}).correlation_id == ("é " * 128).strip()


def test_topics_limit_a_rule(rules):
    rules(IdRule("correlation_id", header="x-req", topics=r"^orders(\.|$)"))
    assert on("orders", (("x-req", "r1"),)).correlation_id == "r1"
    assert on("orders.v2", (("x-req", "r1"),)).correlation_id == "r1"
    assert on("payments", (("x-req", "r1"),)) is EMPTY
    assert on("old.orders", (("x-req", "r1"),)) is EMPTY


def test_causation_ids_from_a_json_list_repeated_headers_and_split(rules):
    rules(
        IdRule("causation_ids", json="meta.parents"),
        IdRule("causation_ids", header="x-parent"),
        IdRule("causation_ids", header="x-parents", split=","),
    )
    body = {"meta": {"parents": ["p1", 2, None, {"x": 1}, "p1", " "]}}
    assert ids((), body).causation_ids == ("p1", "2")
    assert ids((("x-parent", "a,b"), ("x-parent", "c"))).causation_ids == ("a,b", "c")
    got = ids((("x-parents", " a, b ,,a"), ("x-parent", "c")), {"meta": {"parents": "p"}})
    assert got.causation_ids == ("p", "c", "a", "b")  # rule order, each cause once


def test_causation_rules_fall_back_or_override_as_a_whole(rules):
    rules(IdRule("causation_ids", header="x-parent"))
    assert ids((("causation-id", "c1"), ("x-parent", "p"))).causation_ids == ("c1",)
    rules(IdRule("causation_ids", header="x-parent", override=True))
    assert ids((("causation-id", "c1"), ("x-parent", "p"))).causation_ids == ("p",)
    assert ids((("causation-id", "c1"),)).causation_ids == ("c1",)


def test_axon_correlation_id_is_the_parent(rules):
    body = {"eventId": "e2", "correlationId": "e1", "traceId": "e0", "type": "OrderShipped"}
    assert (ids((), body).correlation_id, ids((), body).causation_ids) == ("e1", ())
    rules(
        IdRule("causation_ids", json="correlationId", override=True),
        IdRule("correlation_id", json="traceId", override=True),
    )
    got = ids((), body)
    assert (got.event_id, got.correlation_id, got.causation_ids) == ("e2", "e0", ("e1",))


def test_ignore_switches_built_in_names_off(rules):
    body = {"eventId": "e2", "correlationId": "e1", "type": "T"}
    rules(IdRule("causation_ids", json="correlationId"), ignore=("CorrelationId",))
    got = ids((("correlationId", "h1"),), body)  # in headers and bodies
    assert (got.correlation_id, got.causation_ids) == (None, ("e1",))
    assert ids((("correlation_id", "x1"),)).correlation_id == "x1"  # correlation-id: another name
    set_rules()
    assert ids((), body).correlation_id == "e1"
    set_rules(IdRules(ignore=("traceparent",)))  # ignore alone, without rules
    assert ids((("traceparent", f"00-{TRACE}-{SPAN}-01"),)) is EMPTY


def test_axon_kafka_headers(rules):
    rules(
        IdRule("event_id", header="axon-message-id"),
        IdRule("event_type", header="axon-message-type"),
        IdRule("correlation_id", header="axon-metadata-traceId", override=True),
        IdRule("causation_ids", header="axon-metadata-correlationId", override=True),
    )
    got = ids(
        (
            ("axon-message-id", "m2"),
            ("axon-message-type", "OrderShipped"),
            ("axon-metadata-traceId", "m0"),
            ("axon-metadata-correlationId", "m1"),
        )
    )
    assert (got.event_id, got.event_type, got.correlation_id, got.causation_ids) == (
        "m2",
        "OrderShipped",
        "m0",
        ("m1",),
    )


def test_trace_fields_from_rules(rules):
    rules(
        IdRule("trace_id", header="x-trace"),
        IdRule("span_id", header="x-span"),
        IdRule("parent_span_id", header="x-parent-span"),
        IdRule("source", header="x-source", override=True),
    )
    got = ids((("x-trace", "t1"), ("x-span", "s1"), ("x-parent-span", "p1"), ("x-source", "/s")))
    assert (got.trace_id, got.span_id, got.parent_span_id) == ("t1", "s1", "p1")
    assert (got.correlation_id, got.source) == ("t1", "/s")  # the rule's trace id stands in
    tp = ("traceparent", f"00-{TRACE}-{SPAN}-01")
    assert ids((tp, ("x-trace", "t1"))).trace_id == TRACE  # fallback: the built-in wins


def test_ids_are_extracted_once_per_event(rules):
    event = ev((("x-req", "r1"),))
    assert event.ids is EMPTY
    rules(IdRule("correlation_id", header="x-req"))
    assert event.ids is EMPTY  # cached before the rules: install rules first
    assert ev((("x-req", "r1"),)).ids.correlation_id == "r1"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"field": "correlationId", "header": "x"},
            "unknown field 'correlationId' (fields: event_id",
        ),
        ({"field": "event_id"}, "give header or json"),
        ({"field": "event_id", "header": "x", "json": "y"}, "not both"),
        ({"field": "event_id", "header": " "}, "header: empty name"),
        ({"field": "event_id", "json": "a..b"}, "json: invalid path 'a..b'"),
        ({"field": "event_id", "header": "x", "regex": "("}, "regex: invalid regex '('"),
        ({"field": "event_id", "header": "x", "regex": "id=.*"}, "has no group"),
        ({"field": "event_id", "header": "x", "topics": "[a"}, "topics: invalid regex"),
        ({"field": "event_id", "header": "x", "split": ","}, "split needs field"),
        ({"field": "causation_ids", "header": "x", "split": ""}, "split needs"),
        ({"field": "event_id", "header": 1}, "header must be a string"),
        ({"field": "event_id", "header": "x", "override": "yes"}, "override must be true"),
    ],
)
def test_invalid_rules_are_refused(kwargs, message):
    with pytest.raises(ValueError) as err:
        IdRule(**kwargs)
    assert message in str(err.value)


def test_ignore_accepts_built_in_names_only():
    assert IdRules(ignore=("correlationId", "X_B3_TraceId", "$type")).ignore
    with pytest.raises(ValueError, match="'traceId' is not a built-in name"):
        IdRules(ignore=("traceId",))


def test_demo_events_are_the_same_through_the_rules_path(rules):
    """Rules that find nothing give exactly the built-ins' ids (the rules path is separate)."""
    faults = FaultRates(0.05, 0.05, 0.05, 0.05, 0.05)
    records = ShopSimulator(seed=7, rate=300, faults=faults).take(3000)

    def extract_all() -> list[EventIds]:
        return [extract_ids(Event(r.topic, 0, 0, 0, 1, r.key, r.value, r.headers)) for r in records]

    plain = extract_all()
    rules(
        IdRule("correlation_id", header="X-Request-Id"),
        IdRule("causation_ids", json="meta.parents", override=True),
        IdRule("event_id", header="axon-message-id", regex="^(?P<id>[0-9a-f-]{36})$"),
        IdRule("service", header="x-service-name"),
    )
    assert extract_all() == plain


# -- one trace id across conventions (canonical form) -----------------------------------------

HEX64 = st.integers(min_value=1, max_value=2**64 - 1)
HEX128 = st.integers(min_value=1, max_value=2**128 - 1)
SPANS = st.integers(min_value=1, max_value=2**64 - 1).map(lambda n: f"{n:016x}")
CASE = st.sampled_from([str.lower, str.upper, str.title])


def carriers(trace: str, span: str) -> dict[str, tuple[tuple[str, str], ...]]:
    """The same trace id as each convention carries it (``trace`` of 16 or 32 digits)."""
    wide = trace.zfill(32)
    return {
        "b3": (("b3", f"{trace}-{span}-1"),),
        "x-b3": (("X-B3-TraceId", trace), ("X-B3-SpanId", span)),
        "uber": (("uber-trace-id", f"{trace.lstrip('0')}:{span}:0:1"),),
        "traceparent": (("traceparent", f"00-{wide}-{span}-01"),),
    }


@settings(max_examples=200, deadline=None)
@given(n=HEX64, span=SPANS, case=CASE, form=st.sampled_from(["b3", "x-b3", "uber", "traceparent"]))
def test_a_64_bit_trace_id_is_one_id_in_every_convention_and_case(n, span, case, form):
    canonical = f"{n:032x}"
    headers = tuple((name, case(value)) for name, value in carriers(f"{n:016x}", span)[form])
    got = ids(headers)
    assert got.trace_id == canonical  # 32 lower-case digits, left-padded with zeros
    assert got.correlation_id == canonical  # the trace stands in for the correlation
    assert got.span_id == span
    assert canonical_trace_id(case(f"{n:016x}")) == canonical == canonical_trace_id(canonical)
    assert canonical_trace_id(canonical.upper()) == canonical


@settings(max_examples=100, deadline=None)
@given(n=HEX128, span=SPANS, case=CASE, form=st.sampled_from(["b3", "x-b3", "uber", "traceparent"]))
def test_a_128_bit_trace_id_is_kept_in_lower_case(n, span, case, form):
    canonical = f"{n:032x}"
    headers = tuple((name, case(value)) for name, value in carriers(canonical, span)[form])
    assert ids(headers).trace_id == canonical


@settings(max_examples=200, deadline=None)
@given(
    digits=st.text(alphabet="0123456789abcdefABCDEF", max_size=40).filter(
        lambda t: len(t) not in (16, 32)
    ),
    span=SPANS,
)
def test_trace_ids_of_other_lengths_are_still_rejected(digits, span):
    assert canonical_trace_id(digits) is None
    assert parse_b3(f"{digits}-{span}") is None
    assert parse_b3_multi(digits, span, None) is None
    assert parse_traceparent(f"00-{digits}-{span}-01") is None


@pytest.mark.parametrize(
    "text",
    ["0" * 16, "0" * 32, "g" * 16, f"{TRACE[:15]}x", f" {TRACE} x", "", f"{TRACE}-{SPAN}"],
)
def test_not_a_trace_id(text):
    assert canonical_trace_id(text) is None


def test_the_b3_and_w3c_forms_of_one_64_bit_trace_give_one_id():
    b3 = ids((("b3", "0562809467078eab-f67ef1a3c6b0aa59-1"),))
    w3c = ids((("traceparent", "00-00000000000000000562809467078eab-1c5d0e6a1f3a2b11-01"),))
    upper = ids((("traceparent", "00-00000000000000000562809467078EAB-1C5D0E6A1F3A2B11-01"),))
    assert b3.trace_id == w3c.trace_id == upper.trace_id == PAD + "0562809467078eab"
    assert upper.span_id == "1c5d0e6a1f3a2b11"


def test_shown_id_shows_a_64_bit_trace_by_its_16_digits():
    assert shown_id(PAD + "0562809467078eab") == "0562809467078eab"
    assert shown_id(TRACE) == TRACE
    assert shown_id("order-1") == "order-1"
    assert shown_id(PAD + "order-0000000001") == PAD + "order-0000000001"  # not hex: as is


def test_a_rules_hex_trace_id_is_canonical_and_other_text_kept(rules):
    rules(IdRule("trace_id", header="x-trace"))
    assert ids((("x-trace", "0562809467078EAB"),)).trace_id == PAD + "0562809467078eab"
    assert ids((("x-trace", "req-42"),)).trace_id == "req-42"
