"""How each simulated service writes its events: the conventions real systems mix.

* storefront (orders): ids in the JSON body (``eventId``/``correlationId``/``causationId``),
  and its name as ``service``
* inventory: CloudEvents binary mode (``ce_*`` headers, ids as extensions; ``ce_source``)
* payment: W3C ``traceparent`` (trace id = correlation id) + generic id headers, and
  OpenTelemetry's ``service.name`` as a header
* shipping: CloudEvents structured mode (``application/cloudevents+json``; ``source``)
* notification: event-store metadata (``$correlationId``/``$causationId``), and a
  MassTransit-style ``sourceAddress`` there

Every service names itself in its convention, so traces name every hop.
"""

from __future__ import annotations

import json
import time
from typing import Any

from evtui.sim.model import Headers

_JSON = b"application/json"


def iso(ms: int) -> str:
    seconds, millis = divmod(ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def span_id(event_id: str) -> str:
    return event_id.replace("-", "")[:16]


def encode(
    service: str,
    *,
    event_id: str,
    event_type: str,
    correlation_id: str,
    causation_id: str | None,
    event_time_ms: int,
    subject: str,
    data: dict[str, Any],
) -> tuple[bytes, Headers]:
    """The value and headers a service writes for one event."""
    when = iso(event_time_ms)
    if service == "storefront":
        body = {
            "eventId": event_id,
            "type": event_type,
            "service": "storefront",
            "correlationId": correlation_id,
            "causationId": causation_id,
            "occurredAt": when,
            **data,
        }
        return _dumps(body), (("content-type", _JSON),)
    if service == "inventory":
        headers = [
            ("ce_specversion", b"1.0"),
            ("ce_id", event_id.encode()),
            ("ce_source", b"/shop/inventory"),
            ("ce_type", f"shop.inventory.{event_type}".encode()),
            ("ce_time", when.encode()),
            ("ce_subject", subject.encode()),
            ("ce_correlationid", correlation_id.encode()),
            ("content-type", _JSON),
        ]
        if causation_id:
            headers.insert(7, ("ce_causationid", causation_id.encode()))
        return _dumps(data), tuple(headers)
    if service == "payment":
        headers = [
            ("traceparent", f"00-{correlation_id}-{span_id(event_id)}-01".encode()),
            ("message-id", event_id.encode()),
            ("service.name", b"payment"),
            ("content-type", _JSON),
        ]
        if causation_id:
            headers.insert(2, ("causation-id", causation_id.encode()))
        body = {"type": event_type, "occurredAt": when, **data}
        return _dumps(body), tuple(headers)
    if service == "shipping":
        body = {
            "specversion": "1.0",
            "id": event_id,
            "source": "/shop/shipping",
            "type": f"shop.shipping.{event_type}",
            "time": when,
            "subject": subject,
            "correlationid": correlation_id,
            "datacontenttype": "application/json",
            "data": data,
        }
        if causation_id:
            body["causationid"] = causation_id
        return _dumps(body), (("content-type", b"application/cloudevents+json; charset=UTF-8"),)
    if service == "notification":
        body = {
            "eventId": event_id,
            "eventType": event_type,
            "data": {**data, "occurredAt": when},
            "metadata": {
                "$correlationId": correlation_id,
                "$causationId": causation_id,
                "sourceAddress": "rabbitmq://shop/notification",
            },
        }
        return _dumps(body), (("content-type", _JSON),)
    raise ValueError(f"unknown service {service!r}")
