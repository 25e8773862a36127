"""The service of an event, from each convention that carries one; the demo names every hop."""

from __future__ import annotations

import json

import pytest

from evtui.core.event import Event
from evtui.core.ids import endpoint_name, extract_ids
from evtui.core.traces import build_trace, render_tree
from evtui.sim.model import FaultRates
from evtui.sim.shop import ShopSimulator


def service(headers=(), value=None) -> str | None:
    raw = json.dumps(value).encode() if isinstance(value, dict) else value
    hs = tuple((n, v.encode()) for n, v in headers)
    return extract_ids(Event("t", 0, 0, 0, 1, None, raw, hs)).service


@pytest.mark.parametrize(
    ("headers", "value", "expected"),
    [
        ((("service", "orders"),), None, "orders"),
        ((("service.name", "orders"),), None, "orders"),  # OpenTelemetry's resource attribute
        ((("Service-Name", "orders"),), None, "orders"),
        ((("NServiceBus.OriginatingEndpoint", "Sales"),), None, "Sales"),
        ((("MT-Source-Address", "rabbitmq://host/vhost/billing"),), None, "billing"),
        ((("source-address", "queue:billing"),), None, "billing"),
        ((), {"eventId": "e", "service": "orders"}, "orders"),
        ((), {"eventId": "e", "serviceName": "orders"}, "orders"),
        ((), {"messageId": "m", "sourceAddress": "kafka://cluster/billing-svc"}, "billing-svc"),
        ((), {"eventId": "e", "metadata": {"sourceAddress": "rabbitmq://h/v/billing?temp=1"}},
         "billing"),
        # an explicit name beats an address
        ((("service", "orders"), ("source-address", "queue:billing")), None, "orders"),
    ],
)  # fmt: skip
def test_each_convention_names_the_service(headers, value, expected):
    assert service(headers, value) == expected


def test_an_address_without_an_endpoint_names_no_service():
    assert endpoint_name("rabbitmq://host") is None
    assert endpoint_name("rabbitmq://host/") is None
    assert service((("source-address", "rabbitmq://host"),)) is None


def test_every_demo_service_is_named_and_no_trace_hop_is_unnamed():
    records = ShopSimulator(seed=7, rate=300, faults=FaultRates.none()).take(600)
    named: dict[str, set[str]] = {}
    events = []
    for offset, r in enumerate(records):
        event = Event(r.topic, 0, offset, r.at_ms, 1, r.key, r.value, r.headers)
        ids = event.ids
        named.setdefault(r.service, set()).add(ids.service or ids.source or "?")
        events.append(event)
    assert named == {
        "storefront": {"storefront"},
        "inventory": {"/shop/inventory"},  # CloudEvents: the source stands for it
        "payment": {"payment"},
        "shipping": {"/shop/shipping"},
        "notification": {"notification"},
    }
    first = records[0].correlation_id
    trace = build_trace(first, [e for e in events if e.ids.correlation_id == first])
    assert len(trace.events) >= 3
    assert "  ?  " not in render_tree(trace)
