"""Registry payloads on the real broker, decoded through the real registry (Apicurio).

Records are produced with confluent-kafka's serializers (and, for Protobuf, with
descriptors protoc made from the registered text, framed by hand), then read
back with the ``evtui`` CLI: decoded values equal what was produced, ids inside
Avro bodies join traces with JSON topics, the evolution findings are exact, and
a registry that is down or refuses the password is one clear problem per record.
"""

from __future__ import annotations

import json
import socket
import uuid

import pytest
from confluent_kafka.schema_registry import Schema, SchemaReference, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.schema_registry.json_schema import JSONSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from google.protobuf import json_format

pytest.importorskip("evtui_schema_registry")
from evtui_schema_registry.proto import ProtoSchema

pytestmark = [pytest.mark.kafka, pytest.mark.schema_registry]

ADDRESS = {"type": "record", "name": "Address", "namespace": "it.common",
           "fields": [{"name": "city", "type": "string"}]}  # fmt: skip
ORDER_V1 = {"type": "record", "name": "Order", "namespace": "it",
            "fields": [{"name": "correlationId", "type": "string"},
                       {"name": "eventId", "type": "string"},
                       {"name": "causationId", "type": ["null", "string"], "default": None},
                       {"name": "address", "type": "it.common.Address"}]}  # fmt: skip
ORDER_V2 = {**ORDER_V1, "fields": [*ORDER_V1["fields"],
            {"name": "amount", "type": "int", "default": 0}]}  # fmt: skip
PROTO_COMMON = 'syntax = "proto3";\npackage it.common;\nmessage Money { int64 cents = 1; }\n'
PROTO_MAIN = """syntax = "proto3";
package it;
import "it/common.proto";
message Shipment {
  string correlation_id = 1;
  message Parcel { string id = 1; it.common.Money value = 2; }
  repeated Parcel parcels = 2;
}
"""


def registry_url(info, password: str | None = None) -> str:
    """The URL with the credentials in it (what a user may pass to --schema-registry)."""
    if info.user is None:
        return info.url
    scheme, rest = info.url.split("://", 1)
    return f"{scheme}://{info.user}:{password or info.password}@{rest}"


def framed_avro(schema_id: int, schema: dict):
    """A writer of ``schema`` (it refers to ADDRESS) framed with ``schema_id``, as a producer
    pinned to one registered version writes (a serializer with ``use.schema.id``)."""
    import io

    import fastavro

    named: dict = {}
    fastavro.parse_schema(ADDRESS, named_schemas=named)
    parsed = fastavro.parse_schema(schema, named_schemas=named)
    fields = {f["name"] for f in schema["fields"]}

    def write(record: dict, _ctx: object) -> bytes:
        out = io.BytesIO()
        out.write(b"\x00" + schema_id.to_bytes(4, "big"))
        fastavro.schemaless_writer(out, parsed, {k: v for k, v in record.items() if k in fields})
        return out.getvalue()

    return write


def address_reference(client, tag: str) -> SchemaReference:
    """ADDRESS registered under a subject of this test's own, as a reference to it."""
    subject = f"it.common.Address-{tag}"
    client.register_schema(subject, Schema(json.dumps(ADDRESS), "AVRO"))
    return SchemaReference("it.common.Address", subject, 1)


def ctx(topic: str) -> SerializationContext:
    return SerializationContext(topic, MessageField.VALUE)


@pytest.fixture
def client(schema_registry):
    return SchemaRegistryClient(schema_registry.client_config())


def tail_json(evtui_cli, bootstrap, url, *topics, env=None):
    done = evtui_cli("tail", *topics, "-b", bootstrap, "--from", "beginning", "--until", "end",
                     "-F", "json", "--schema-registry", url, env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    return [json.loads(line) for line in done.stdout.decode().splitlines()], done.stderr.decode()


def test_all_three_formats_come_back_as_produced(
    schema_registry, client, kafka_bootstrap, new_topic, produce, evtui_cli
):
    tag = uuid.uuid4().hex[:8]
    avro_topic, pb_topic, js_topic = new_topic(2, "avro"), new_topic(1, "pb"), new_topic(1, "js")
    ref = address_reference(client, tag)
    client.register_schema(f"{avro_topic}-value", Schema(json.dumps(ORDER_V1), "AVRO", [ref]))
    avro = AvroSerializer(client, None, conf={"auto.register.schemas": False,
                                              "use.latest.version": True})  # fmt: skip
    orders = [{"correlationId": f"corr-{i}", "eventId": f"e-{i}", "causationId": None,
               "address": {"city": f"Zürich {i}"}} for i in range(6)]  # fmt: skip
    produce(avro_topic, [{"key": f"k{i}", "value": avro(o, ctx(avro_topic))}
                         for i, o in enumerate(orders)])  # fmt: skip

    common = f"it-common-{tag}"
    client.register_schema(common, Schema(PROTO_COMMON, "PROTOBUF"))
    pb_ref = SchemaReference("it/common.proto", common, 1)
    pb_id = client.register_schema(f"{pb_topic}-value", Schema(PROTO_MAIN, "PROTOBUF", [pb_ref]))
    proto = ProtoSchema(PROTO_MAIN, {"it/common.proto": PROTO_COMMON})
    _, shipment = proto.message([0])
    _, parcel = proto.message([0, 0])
    header = b"\x00" + pb_id.to_bytes(4, "big")
    ship = json_format.ParseDict({"correlation_id": "corr-pb", "parcels": [
        {"id": "p1", "value": {"cents": "9007199254740993"}}]}, shipment())  # fmt: skip
    produce(
        pb_topic,
        [
            {"value": header + b"\x00" + ship.SerializeToString()},
            {"value": header + bytes([4, 0, 0]) + parcel(id="p2").SerializeToString()},
        ],
    )

    js_schema = {"type": "object", "properties": {"correlationId": {"type": "string"}}}
    js = JSONSerializer(json.dumps(js_schema), client)
    produce(js_topic, [{"value": js({"correlationId": "corr-js", "n": 1.5}, ctx(js_topic))}])

    url = registry_url(schema_registry)
    avro_rows, err = tail_json(evtui_cli, kafka_bootstrap, url, avro_topic)
    assert schema_registry.password is None or schema_registry.password not in err
    assert sorted((r["value"] for r in avro_rows), key=lambda v: v["eventId"]) == orders
    assert {r["schema"]["subject"] for r in avro_rows} == {f"{avro_topic}-value"}
    assert all(r["decode_error"] is None and r["value_format"] == "json" for r in avro_rows)

    pb_rows, _ = tail_json(evtui_cli, kafka_bootstrap, url, pb_topic)
    assert pb_rows[0]["value"] == json_format.MessageToDict(
        ship, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    assert pb_rows[0]["schema"]["message"] == "it.Shipment"
    assert pb_rows[1]["value"] == {"id": "p2", "value": None} or pb_rows[1]["value"]["id"] == "p2"
    assert pb_rows[1]["schema"]["message"] == "it.Shipment.Parcel"

    js_rows, _ = tail_json(evtui_cli, kafka_bootstrap, url, js_topic)
    assert js_rows[0]["value"] == {"correlationId": "corr-js", "n": 1.5}

    # a CEL filter reads decoded Avro fields as it reads JSON
    done = evtui_cli("tail", avro_topic, "-b", kafka_bootstrap, "--from", "beginning",
                     "--until", "end", "-F", "json", "--schema-registry", url,
                     "--filter", 'value.address.city == "Zürich 3"')  # fmt: skip
    assert [json.loads(x)["value"]["eventId"] for x in done.stdout.decode().splitlines()] == ["e-3"]


def test_a_trace_joins_json_and_avro_topics(
    schema_registry, client, kafka_bootstrap, new_topic, produce, evtui_cli
):
    json_topic, avro_topic = new_topic(1, "json"), new_topic(3, "avro")
    tag = uuid.uuid4().hex[:8]
    ref = address_reference(client, tag)
    client.register_schema(f"{avro_topic}-value", Schema(json.dumps(ORDER_V1), "AVRO", [ref]))
    avro = AvroSerializer(client, None, conf={"auto.register.schemas": False,
                                              "use.latest.version": True})  # fmt: skip
    corr = f"corr-{tag}"
    produce(json_topic, [{"value": json.dumps({"correlationId": corr, "eventId": "root"})}])
    produce(avro_topic, [
        {"key": f"k{i}", "value": avro({"correlationId": corr, "eventId": f"child-{i}",
         "causationId": "root", "address": {"city": "x"}}, ctx(avro_topic))} for i in range(3)
    ])  # fmt: skip
    done = evtui_cli("trace", corr, json_topic, avro_topic, "-b", kafka_bootstrap,
                     "--since", "1h", "-F", "json", "--schema-registry",
                     registry_url(schema_registry))  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    trace = json.loads(done.stdout)
    ids = {e["ref"]: e["event_id"] for e in trace["events"]}
    assert set(ids.values()) == {"root", "child-0", "child-1", "child-2"}
    # every Avro child hangs off the JSON root: the causation id was read inside Avro
    assert sorted((ids[u], ids[v]) for u, v, _ in trace["edges"]) == [
        ("root", f"child-{i}") for i in range(3)
    ]


def test_evolution_findings_are_exact(
    schema_registry, client, kafka_bootstrap, new_topic, produce, evtui_cli
):
    topic = new_topic(2)
    tag = uuid.uuid4().hex[:8]
    ref = address_reference(client, tag)
    subject = f"{topic}-value"
    v1 = client.register_schema(subject, Schema(json.dumps(ORDER_V1), "AVRO", [ref]))
    v2 = client.register_schema(subject, Schema(json.dumps(ORDER_V2), "AVRO", [ref]))
    assert v1 != v2
    old, new = framed_avro(v1, ORDER_V1), framed_avro(v2, ORDER_V2)

    def rec(ser, i, ts, source):
        body = {"correlationId": f"c{i}", "eventId": f"e{i}", "causationId": None,
                "address": {"city": "x"}, "amount": i}  # fmt: skip
        return {"key": f"k{i}", "value": ser(body, ctx(topic)), "timestamp": ts,
                "headers": [("ce_source", source.encode())]}  # fmt: skip

    base = 1_700_000_000_000
    produced = produce(topic, [rec(old, 0, base, "svc-a"), rec(old, 1, base + 1, "svc-a"),
                               rec(new, 2, base + 60_000, "svc-a"),
                               rec(new, 3, base + 61_000, "svc-a"),
                               rec(old, 4, base + 200_000, "legacy"),
                               rec(old, 5, base + 201_000, "legacy")])  # fmt: skip
    unknown_at = produce(topic, [{"key": "k9", "value": b"\x00\x00\x0f\x42\x3f" + b"xyz",
                                  "timestamp": base + 300_000}])  # fmt: skip
    done = evtui_cli("check", topic, "-b", kafka_bootstrap, "--from", "beginning", "-F", "json",
                     "--rules", "schema_regression,schema_unknown",
                     "--schema-registry", registry_url(schema_registry))  # fmt: skip
    assert done.returncode == 1, done.stderr.decode()
    report = json.loads(done.stdout)
    found = sorted((f["kind"], f["partition"], f["offset"]) for f in report["violations"])
    # one regression (the producer "legacy", once), at one of its two records: which one
    # depends on the order the partitions are read in; one unknown id
    assert found in (
        sorted([("schema_regression", *produced[n]), ("schema_unknown", *unknown_at[0])])
        for n in (4, 5)
    )
    regression = next(f for f in report["violations"] if f["kind"] == "schema_regression")
    assert "legacy" in regression["seen"] and f"{subject} v1" in regression["seen"]


def test_registry_down_and_wrong_password_are_one_clear_problem_per_record(
    schema_registry, client, kafka_bootstrap, new_topic, produce, evtui_cli
):
    topic = new_topic(1)
    schema_id = client.register_schema(f"{topic}-value", Schema(json.dumps(ADDRESS), "AVRO"))
    avro = AvroSerializer(client, None, conf={"auto.register.schemas": False,
                                              "use.latest.version": True})  # fmt: skip
    produce(topic, [{"value": avro({"city": f"c{i}"}, ctx(topic))} for i in range(20)])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    rows, err = tail_json(evtui_cli, kafka_bootstrap, f"http://127.0.0.1:{port}", topic)
    assert len(rows) == 20 and "Traceback" not in err
    assert all(r["value_format"] == "schema-registry" and r["schema_id"] == schema_id
               for r in rows)  # fmt: skip
    assert rows[0]["decode_error"].startswith(f"schema id {schema_id}: registry unreachable")
    if schema_registry.user is None:
        pytest.skip("the registry runs without authentication")
    rows, err = tail_json(evtui_cli, kafka_bootstrap,
                          registry_url(schema_registry, "Bad7pw-QX9"), topic)  # fmt: skip
    assert all(
        r["decode_error"].startswith(
            f"schema id {schema_id}: the registry refused the credentials (HTTP 401)"
        )
        for r in rows
    )
    leaked = [r for r in rows if "Bad7pw-QX9" in json.dumps(r)]
    assert "Bad7pw-QX9" not in err and not leaked, leaked[:1]


def test_schemas_shows_each_topics_versions_when_and_by_whom(
    schema_registry, client, kafka_bootstrap, new_topic, produce, evtui_cli
):
    topic = new_topic(3)
    tag = uuid.uuid4().hex[:8]
    ref = address_reference(client, tag)
    subject = f"{topic}-value"
    v1 = client.register_schema(subject, Schema(json.dumps(ORDER_V1), "AVRO", [ref]))
    v2 = client.register_schema(subject, Schema(json.dumps(ORDER_V2), "AVRO", [ref]))
    old, new = framed_avro(v1, ORDER_V1), framed_avro(v2, ORDER_V2)
    base = 1_700_000_000_000
    body = {"correlationId": "c", "eventId": "e", "causationId": None,
            "address": {"city": "x"}, "amount": 1}  # fmt: skip

    def rec(ser, i, source):
        return {"key": f"k{i}", "value": ser(body, ctx(topic)), "timestamp": base + i * 1000,
                "headers": [("ce_source", source.encode())]}  # fmt: skip

    produce(
        topic,
        [rec(old, i, "svc-a") for i in range(4)]
        + [rec(new, 10 + i, "svc-b") for i in range(3)]
        + [rec(old, 20, "legacy")]
        + [{"key": "k", "value": b"\x00\x00\x0f\x42\x40xyz", "timestamp": base + 30_000}],
    )
    produce(new_topic(1, "plain"), [{"value": b'{"a": 1}'}])
    done = evtui_cli("schemas", topic, "-b", kafka_bootstrap, "--from", "beginning", "-F", "json",
                     "--schema-registry", registry_url(schema_registry))  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    rows = json.loads(done.stdout)["topics"][topic]
    assert [(r["subject"], r["version"], r["schema_id"], r["records"]) for r in rows] == [
        (subject, 1, v1, 5),
        (subject, 2, v2, 3),
        (None, None, 1_000_000, 1),
    ]
    assert rows[0]["producers"] == {"svc-a": 4, "legacy": 1}
    assert rows[0]["first"]["timestamp_ms"] == base and rows[0]["last"]["timestamp_ms"] == (
        base + 20_000
    )
    assert rows[1]["producers"] == {"svc-b": 3}
    assert "the registry has no such schema" in rows[2]["problem"]
    text = evtui_cli("schemas", topic, "-b", kafka_bootstrap, "--from", "beginning",
                     "--schema-registry", registry_url(schema_registry))  # fmt: skip
    assert text.returncode == 0 and f"{subject} v2 (id {v2} avro)" in text.stdout.decode()


def test_the_demo_through_the_registry_plants_one_regression(
    schema_registry, kafka_bootstrap, evtui_cli, tmp_path
):
    prefix = f"sr{uuid.uuid4().hex[:6]}-"
    truth_path = tmp_path / "truth.json"
    url = registry_url(schema_registry)
    done = evtui_cli("demo", "--headless", "-b", kafka_bootstrap, "--duration", "9s",
                     "--rate", "200", "--seed", "3", "--topic-prefix", prefix,
                     "--truth", str(truth_path), "--schema-registry", url,
                     "--fault", "duplicate=0", timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    truth = json.loads(truth_path.read_text())
    planted = [f for f in truth["faults"] if f["kind"] == "schema_regression"]
    assert len(planted) == 1 and planted[0]["topic"] == f"{prefix}orders"
    # the legacy instance's v1 records come from the second third of the run on: with no
    # grace, the first after v2's first record is already a regression
    done = evtui_cli("check", f"^{prefix}", "-b", kafka_bootstrap, "--from", "beginning",
                     "-F", "json", "--rules", "schema_regression,schema_unknown",
                     "--schema-registry", url, env={"EVTUI_SCHEMA_GRACE_MS": "0"})  # fmt: skip
    assert done.returncode == 1, done.stderr.decode()
    found = json.loads(done.stdout)["violations"]
    assert [(f["kind"], f["topic"]) for f in found] == [("schema_regression", f"{prefix}orders")]
    assert "storefront-legacy" in found[0]["seen"]
    done = evtui_cli("schemas", f"^{prefix}", "-b", kafka_bootstrap, "--from", "beginning",
                     "-F", "json", "--schema-registry", url)  # fmt: skip
    topics = json.loads(done.stdout)["topics"]
    assert sorted(topics) == [f"{prefix}orders", f"{prefix}payments"]
    orders = {(r["version"], tuple(sorted(r["producers"]))) for r in topics[f"{prefix}orders"]}
    assert orders == {(1, ("storefront", "storefront-legacy")), (2, ("storefront",))}
    assert [r["type"] for r in topics[f"{prefix}payments"]] == ["PROTOBUF"]
