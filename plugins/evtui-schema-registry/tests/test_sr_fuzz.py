"""Fuzzing the registry decoder (issue 19, part 5): truncated and corrupted wire-format values
of known Avro, Protobuf and JSON Schema ids never raise; each is a value or one problem."""

from __future__ import annotations

import json
import os

from confluent_kafka.schema_registry import Schema, SchemaReference
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evtui.core.event import Event
from evtui.core.ids import extract_ids

EXAMPLES = int(os.environ.get("EVTUI_FUZZ_EXAMPLES", "200"))
PROTO = (
    'syntax = "proto3";\n'
    "message A { string id = 1; message B { repeated int64 n = 1; } B b = 2; }\n"
)
AVRO = {"type": "record", "name": "R", "fields": [
    {"name": "id", "type": "string"}, {"name": "n", "type": ["null", "long"]},
    {"name": "d", "type": {"type": "bytes", "logicalType": "decimal", "precision": 6, "scale": 2}},
    {"name": "m", "type": {"type": "map", "values": "double"}}]}  # fmt: skip


def register(client):
    ids = [
        client.register_schema("a-value", Schema(json.dumps(AVRO), "AVRO")),
        client.register_schema("p-value", Schema(PROTO, "PROTOBUF")),
        client.register_schema("j-value", Schema('{"type": "object"}', "JSON")),
    ]
    client.register_schema("common", Schema('syntax = "proto3";\nmessage C { int32 x = 1; }\n',
                                            "PROTOBUF"))  # fmt: skip
    ref = SchemaReference("c.proto", "common", 1)
    ids.append(
        client.register_schema(
            "r-value",
            Schema(
                'syntax = "proto3";\nimport "c.proto";\nmessage D { C c = 1; }\n', "PROTOBUF", [ref]
            ),
        )
    )
    return ids


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(which=st.integers(0, 4), body=st.binary(max_size=120))
def test_registry_values_never_raise(client, which, body):
    ids = register(client)
    schema_id = ids[which] if which < len(ids) else 9999
    value = b"\x00" + schema_id.to_bytes(4, "big") + body
    event = Event("t", 0, 0, 0, 0, None, value, ())
    decoded = event.decoded
    assert (decoded.error is None) == (decoded.format == "json")
    if decoded.error is not None:
        assert decoded.error.startswith(f"schema id {schema_id}: ")
    extract_ids(Event("t", 0, 0, 0, 0, None, value, ()))
