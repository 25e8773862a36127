"""The demo shop through a registry: orders in Avro, payments in Protobuf.

``evtui demo --schema-registry URL`` (on a cluster, or in-process with
``mock://NAME``) re-encodes two services' records in the wire format:

- storefront -> the orders topic, Avro (subject ``<orders>-value``). The schema is
  upgraded mid-run (v2 adds ``channel``, default ``"web"``); one storefront
  instance, ``storefront-legacy`` (a tenth of the orders, chosen by event id), is
  never upgraded and keeps writing v1: a planted ``schema_regression``;
- payment -> the payments topic, Protobuf (subject ``<payments>-value``), with the
  ids where they were (headers).

Everything else (ids, keys, headers, times, faults) is the shop's as ever. The
encoder holds no state the simulation's copies must not share.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import replace
from typing import Any

import fastavro
from confluent_kafka.schema_registry import Schema

from evtui.sim.model import Fault, SimRecord

from .proto import ProtoSchema
from .store import new_client

LEGACY = "storefront-legacy"
_NULLABLE = ("causationId", "orderId", "customerId", "sku", "currency", "reason")
ORDER_V1: dict[str, Any] = {
    "type": "record",
    "name": "OrderEvent",
    "namespace": "shop.orders",
    "fields": [
        {"name": "eventId", "type": "string"},
        {"name": "type", "type": "string"},
        {"name": "service", "type": "string"},
        {"name": "correlationId", "type": "string"},
        {"name": "occurredAt", "type": "string"},
        {"name": "sequence", "type": ["null", "long"], "default": None},
        {"name": "quantity", "type": ["null", "int"], "default": None},
        {"name": "amount", "type": ["null", "double"], "default": None},
        *({"name": n, "type": ["null", "string"], "default": None} for n in _NULLABLE),
    ],
}
ORDER_V2 = {**ORDER_V1, "fields": [*ORDER_V1["fields"],
            {"name": "channel", "type": "string", "default": "web"}]}  # fmt: skip
PAYMENT_PROTO = """syntax = "proto3";
package shop.payments;
message PaymentEvent {
  string type = 1;
  string occurred_at = 2;
  string order_id = 3;
  double amount = 4;
  string currency = 5;
  string reason = 6;
}
"""


class DemoEncoder:
    """Turns the shop's JSON records for orders and payments into registry payloads."""

    def __init__(self, conf: dict[str, str], orders: str, payments: str, upgrade_at_ms: int):
        self.client = new_client(conf)
        self.orders, self.payments = orders, payments
        self.upgrade_at_ms = upgrade_at_ms
        order_subject, payment_subject = f"{orders}-value", f"{payments}-value"
        self.v1 = self.client.register_schema(order_subject, Schema(json.dumps(ORDER_V1), "AVRO"))
        self.v2 = self.client.register_schema(order_subject, Schema(json.dumps(ORDER_V2), "AVRO"))
        self.pb = self.client.register_schema(payment_subject, Schema(PAYMENT_PROTO, "PROTOBUF"))
        self._avro = {1: fastavro.parse_schema(ORDER_V1), 2: fastavro.parse_schema(ORDER_V2)}
        _, self._payment = ProtoSchema(PAYMENT_PROTO, {}).message([0])
        self.first_v2_ms: int | None = None  # the same in every copy of the simulation
        self._planted: set[int] = set()  # the truths (one per copy) told of the regression

    def __deepcopy__(self, memo: dict) -> DemoEncoder:
        return self  # a simulation's copy (the history) encodes alike; the client is shared

    def __call__(self, record: SimRecord, truth: Any = None) -> SimRecord:
        if record.topic == self.orders and record.service == "storefront":
            return self._order(record, truth)
        if record.topic == self.payments and record.service == "payment":
            return self._payment_record(record)
        return record

    def _order(self, record: SimRecord, truth: Any) -> SimRecord:
        body = json.loads(record.value)
        legacy = _share(record.event_id) < 0.1
        version = 1 if legacy or record.at_ms < self.upgrade_at_ms else 2
        if legacy:
            body["service"] = LEGACY
        fields = {f["name"] for f in (ORDER_V1 if version == 1 else ORDER_V2)["fields"]}
        row = {k: body.get(k) for k in fields}
        if version == 2:
            row["channel"] = "web"
            if self.first_v2_ms is None:
                self.first_v2_ms = record.at_ms
        elif (
            legacy
            and self.first_v2_ms is not None
            and truth is not None
            and (id(truth) not in self._planted)
        ):
            self._planted.add(id(truth))
            truth.faults.append(Fault("schema_regression", record.topic, record.key.decode(),
                (record.event_id,), f"{LEGACY} wrote {record.topic}-value v1 after v2 was "
                "in use"))  # fmt: skip
        out = io.BytesIO()
        out.write(b"\x00" + (self.v1 if version == 1 else self.v2).to_bytes(4, "big"))
        fastavro.schemaless_writer(out, self._avro[version], row)
        return replace(record, value=out.getvalue(), headers=_without_content_type(record))

    def _payment_record(self, record: SimRecord) -> SimRecord:
        body = json.loads(record.value)
        msg = self._payment(
            type=body.get("type", ""), occurred_at=body.get("occurredAt", ""),
            order_id=body.get("orderId", ""), amount=float(body.get("amount") or 0),
            currency=body.get("currency", ""), reason=body.get("reason", ""),
        )  # fmt: skip
        value = b"\x00" + self.pb.to_bytes(4, "big") + b"\x00" + msg.SerializeToString()
        return replace(record, value=value, headers=_without_content_type(record))


def _share(event_id: str) -> float:
    """A stable number in [0, 1) for an event id (which instance wrote it)."""
    return int.from_bytes(hashlib.sha256(event_id.encode()).digest()[:4], "big") / 2**32


def _without_content_type(record: SimRecord) -> tuple:
    return tuple((n, v) for n, v in record.headers if n.lower() != "content-type")
