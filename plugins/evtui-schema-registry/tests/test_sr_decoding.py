"""Decoding through the registry: what was produced comes back, and failures say why."""

from __future__ import annotations

import datetime as dt
import decimal
import json

from confluent_kafka.schema_registry import Schema, SchemaReference
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.schema_registry.json_schema import JSONSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from evtui_schema_registry.proto import ProtoSchema
from google.protobuf import json_format

from evtui.core import native
from evtui.core.event import Event
from evtui.core.ids import extract_ids

ADDRESS = {
    "type": "record",
    "name": "Address",
    "namespace": "shop.common",
    "fields": [{"name": "city", "type": "string"}, {"name": "zip", "type": ["null", "string"]}],
}
ORDER = {
    "type": "record",
    "name": "Order",
    "namespace": "shop",
    "fields": [
        {"name": "correlationId", "type": "string"},
        {"name": "eventId", "type": "string"},
        {"name": "address", "type": "shop.common.Address"},
        {"name": "amount", "type": {"type": "bytes", "logicalType": "decimal",
                                    "precision": 10, "scale": 2}},
        {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "raw", "type": "bytes"},
        {"name": "tags", "type": {"type": "map", "values": "int"}},
    ],
}  # fmt: skip


def ctx(topic: str) -> SerializationContext:
    return SerializationContext(topic, MessageField.VALUE)


def event(topic: str, value: bytes, offset: int = 0, ts: int = 1_000) -> Event:
    return Event(topic, 0, offset, ts, 0, b"k", value)


def test_avro_with_a_reference_round_trips_and_its_ids_are_found(client):
    client.register_schema("shop.common.Address", Schema(json.dumps(ADDRESS), "AVRO"))
    ref = SchemaReference("shop.common.Address", "shop.common.Address", 1)
    client.register_schema("orders-value", Schema(json.dumps(ORDER), "AVRO", [ref]))
    ser = AvroSerializer(client, None, conf={"auto.register.schemas": False,
                                             "use.latest.version": True})  # fmt: skip
    produced = {
        "correlationId": "corr-7",
        "eventId": "evt-1",
        "address": {"city": "Zürich", "zip": None},
        "amount": decimal.Decimal("12.50"),
        "at": dt.datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=dt.UTC),
        "raw": b"\x00\xff",
        "tags": {"a": 1},
    }
    e = event("orders", ser(produced, ctx("orders")))
    decoded = e.decoded
    assert decoded.error is None and decoded.format == "json" and decoded.decoder == "avro"
    assert decoded.value == {
        "correlationId": "corr-7",
        "eventId": "evt-1",
        "address": {"city": "Zürich", "zip": None},
        "amount": "12.50",
        "at": "2026-01-02T03:04:05.678000+00:00",
        "raw": "\x00\xff",
        "tags": {"a": 1},
    }
    assert decoded.schema.subject == "orders-value" and decoded.schema.version == 1
    fresh = event("orders", e.value)
    assert fresh.ids.correlation_id == "corr-7" and fresh.ids.event_id == "evt-1"


def test_the_native_path_leaves_registry_values_to_the_plugin(client):
    client.register_schema("orders-value", Schema(json.dumps(ADDRESS | {"fields": [
        {"name": "correlationId", "type": "string"}]}), "AVRO"))  # fmt: skip
    ser = AvroSerializer(client, None, conf={"auto.register.schemas": False,
                                             "use.latest.version": True})  # fmt: skip
    events = [event("orders", ser({"correlationId": f"c-{i}"}, ctx("orders")), i) for i in range(5)]
    events.append(event("orders", b'{"correlationId": "json-1"}', 5))
    assert native.builtin_chain()  # JSON records stay on the native path
    native.fill_ids(events)
    assert [e.ids.correlation_id for e in events] == [*(f"c-{i}" for i in range(5)), "json-1"]
    assert [extract_ids(event(e.topic, e.value)).correlation_id for e in events] == [
        e.ids.correlation_id for e in events
    ]


PROTO_COMMON = """syntax = "proto3";
package shop.common;
message Money { string currency = 1; int64 cents = 2; }
"""
PROTO_ORDER = """syntax = "proto3";
package shop;
import "shop/common.proto";
import "google/protobuf/timestamp.proto";
message Envelope {
  string correlation_id = 1;
  message Line { string sku = 1; shop.common.Money price = 2; repeated string notes = 3; }
  repeated Line lines = 2;
  google.protobuf.Timestamp at = 3;
  map<string, int32> counts = 4;
  oneof who { string user = 5; int32 robot = 6; }
}
message Other { int32 n = 1; }
"""


def test_protobuf_without_compiled_classes_nested_messages_and_references(client):
    client.register_schema("shop-common", Schema(PROTO_COMMON, "PROTOBUF"))
    ref = SchemaReference("shop/common.proto", "shop-common", 1)
    schema_id = client.register_schema("orders-pb-value", Schema(PROTO_ORDER, "PROTOBUF", [ref]))
    # the producer's side, built independently of the decoder: protoc's descriptors
    producer = ProtoSchema(PROTO_ORDER, {"shop/common.proto": PROTO_COMMON})
    _, envelope_cls = producer.message([0])
    msg = envelope_cls()
    json_format.ParseDict(
        {"correlation_id": "corr-pb", "lines": [{"sku": "A", "price": {"currency": "EUR",
         "cents": "1250"}, "notes": ["x"]}], "at": "2026-01-02T03:04:05Z",
         "counts": {"a": 2}, "robot": 7},
        msg,
    )  # fmt: skip
    header = b"\x00" + schema_id.to_bytes(4, "big")
    e = event("orders-pb", header + b"\x00" + msg.SerializeToString())  # indexes [0]: lone 0
    decoded = e.decoded
    assert decoded.error is None and decoded.decoder == "protobuf"
    expected = json_format.MessageToDict(
        msg, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    assert decoded.value == expected and decoded.value["lines"][0]["price"]["cents"] == "1250"
    assert decoded.schema.message == "shop.Envelope"
    assert event("orders-pb", e.value).ids.correlation_id == "corr-pb"
    # a nested message: indexes [0, 0] (count 2, then 0, 0 as zigzag varints)
    _, line_cls = producer.message([0, 0])
    line = line_cls(sku="B")
    nested = event("orders-pb", header + bytes([4, 0, 0]) + line.SerializeToString())
    assert nested.decoded.value["sku"] == "B"
    assert nested.decoded.schema.message == "shop.Envelope.Line"
    # the second top-level message: indexes [1] (count 1, index 1 -> zigzag 2)
    other = event("orders-pb", header + bytes([2, 2]) + b"\x08\x05")
    assert other.decoded.value == {"n": 5} and other.decoded.schema.message == "shop.Other"
    # an index past the messages: a problem naming the id, never a crash
    bad = event("orders-pb", header + bytes([2, 20]) + b"\x08\x05")
    assert bad.decoded.error.startswith(f"schema id {schema_id}: ")
    assert "out of range" in bad.decoded.error


def test_json_schema_values(client):
    schema = {"type": "object", "properties": {"correlationId": {"type": "string"},
              "n": {"type": "integer"}}}  # fmt: skip
    ser = JSONSerializer(json.dumps(schema), client)
    e = event("js", ser({"correlationId": "corr-js", "n": 12345678901234567890}, ctx("js")))
    assert e.decoded.decoder == "json-schema" and e.decoded.error is None
    assert e.decoded.value == {"correlationId": "corr-js", "n": 12345678901234567890}
    assert e.decoded.schema.subject == "js-value"


def test_an_unknown_id_is_a_problem_of_the_record(client):
    e = event("t", b"\x00\x00\x00\x01\x2c" + b"payload")
    decoded = e.decoded
    assert decoded.error == "schema id 300: the registry has no such schema"
    assert decoded.value == b"payload" and decoded.schema_id == 300


def test_a_value_that_does_not_match_its_schema(client):
    schema_id = client.register_schema("t-value", Schema(json.dumps(ADDRESS), "AVRO"))
    e = event("t", b"\x00" + schema_id.to_bytes(4, "big") + b"\x10ab")  # length 8, 2 bytes
    assert e.decoded.error.startswith(f"schema id {schema_id}: avro, subject t-value v1: ")
    assert "does not decode" in e.decoded.error


def test_the_guid_form_of_the_wire_format(client):
    import uuid

    schema = {
        "type": "record",
        "name": "G",
        "fields": [{"name": "correlationId", "type": "string"}],
    }
    registered = client.register_schema_full_response("g-value", Schema(json.dumps(schema), "AVRO"))
    guid = uuid.UUID(registered.guid).bytes
    e = event("g", b"\x01" + guid + b"\x08corr")  # Avro string: zigzag length 4, then the text
    assert e.decoded.error is None and e.decoded.value == {"correlationId": "corr"}
    assert e.decoded.schema_id is None and e.decoded.schema.schema_type == "AVRO"
    assert event("g", e.value).ids.correlation_id == "corr"
    # magic byte 1 that no schema claims: not the registry's, the built-ins read it
    other = event("g", b"\x01" + bytes(16) + b"plain bytes")
    assert other.decoded.decoder != "schema-registry" and other.decoded.error is None
