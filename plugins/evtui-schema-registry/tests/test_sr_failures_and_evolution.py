"""The registry down or refusing, and the schema-evolution findings (exact truth)."""

from __future__ import annotations

import json
import socket

from confluent_kafka.schema_registry import Schema
from evtui_schema_registry.decoder import RegistryDecoder
from evtui_schema_registry.evolution import EvolutionDetector
from evtui_schema_registry.store import Failure, SchemaStore

from evtui.config import SchemaRegistrySettings, Secret
from evtui.core.decode import Decoded, SchemaInfo
from evtui.core.event import Event
from evtui.core.ordering import Checker


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed when the block ends: nothing listens there


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_registry_down_costs_one_attempt_per_retry_interval_and_hides_the_password():
    url = f"http://127.0.0.1:{closed_port()}"
    settings = SchemaRegistrySettings(url, "u", Secret("hunter2-secret"))
    clock = Clock()
    store = SchemaStore(settings.client_conf(), scrub=settings.scrub, retry_s=10, clock=clock)
    decoder = RegistryDecoder(store)
    first = decoder.decode(b"\x00\x00\x00\x00\x07abc", ())
    assert first.error.startswith(f"schema id 7: registry unreachable at {url}: ")
    assert "hunter2" not in first.error
    for _ in range(50):  # other ids, same outage: no new attempt
        again = decoder.decode(b"\x00\x00\x00\x00\x08abc", ())
        assert "asking again in" in again.error
    assert store.fetches == 1
    clock.now = 11.0
    decoder.decode(b"\x00\x00\x00\x00\x08abc", ())
    assert store.fetches == 2


def test_wrong_credentials_say_so(client, registry_url):
    class Refusing:
        def get_schema(self, schema_id):
            from confluent_kafka.schema_registry.error import SchemaRegistryError

            raise SchemaRegistryError(401, 40101, "Unauthorized")

    store = SchemaStore({"url": "http://registry.example"}, client=Refusing())
    decoded = RegistryDecoder(store).decode(b"\x00\x00\x00\x00\x07abc", ())
    assert decoded.error == "schema id 7: the registry refused the credentials (HTTP 401)"
    assert store.cached(7) is None  # not remembered as unknown: asked again after the pause


def test_without_a_registry_the_plugin_claims_nothing():
    assert RegistryDecoder(None).decode(b"\x00\x00\x00\x00\x07abc", ()) is None


# -- evolution ------------------------------------------------------------------------------


def versioned(topic, partition, offset, ts, version, producer=None, subject="orders-value"):
    """An event decoded as written with ``subject`` ``version`` (no registry needed)."""
    headers = (("ce_source", producer.encode()),) if producer else ()
    e = Event(topic, partition, offset, ts, 0, b"k", b"\x00\x00\x00\x00" + bytes([version]),
              headers)  # fmt: skip
    info = SchemaInfo("AVRO", subject, version, "{}")
    object.__setattr__(e, "_decoded", Decoded("json", {}, "avro", version, None, info))
    return e


def run(events, grace_ms=0):
    detector = EvolutionDetector(None, grace_ms=grace_ms)
    found = []
    for e in events:
        found += detector.offer(e)
    return found + detector.finish()


def test_a_producer_left_on_the_old_version_is_one_finding():
    events = [versioned("orders", 0, i, 1_000 + i, 1, "svc-a") for i in range(3)]
    events += [versioned("orders", 0, 3 + i, 2_000 + i, 2, "svc-a") for i in range(3)]
    events += [versioned("orders", 0, 6 + i, 3_000 + i, 1, "legacy") for i in range(5)]
    found = run(events)
    assert [(f.kind, f.offset, f.seen) for f in found] == [
        ("schema_regression", 6, "orders-value v1 by legacy")
    ]


def test_partitions_read_one_after_the_other_are_judged_on_record_time():
    # partition 1 (all v2, later) is read before partition 0 (v1, all earlier): no finding
    p1 = [versioned("orders", 1, i, 5_000 + i, 2) for i in range(3)]
    p0 = [versioned("orders", 0, i, 1_000 + i, 1) for i in range(3)]
    assert run(p1 + p0) == []
    # ... but a v1 record written after the first v2 is found whichever is read first
    late = [versioned("orders", 0, 3, 6_000, 1, "legacy")]
    found = run(p0 + late + p1)
    assert [(f.partition, f.offset) for f in found] == [(0, 3)]
    assert [(f.partition, f.offset) for f in run(p1 + p0 + late)] == [(0, 3)]


def test_subjects_on_one_topic_are_not_compared_and_grace_allows_a_rollout():
    a = [versioned("mixed", 0, 0, 1_000, 5, subject="shop.OrderPlaced")]
    b = [versioned("mixed", 0, 1, 2_000, 1, subject="shop.OrderShipped")]
    assert run(a + b) == []
    rollout = [versioned("o", 0, 0, 1_000, 2), versioned("o", 0, 1, 20_000, 1)]
    assert run(rollout, grace_ms=30_000) == []
    assert len(run(rollout, grace_ms=0)) == 1


def test_unknown_ids_are_found_once_per_topic_and_never_when_the_registry_is_down(client):
    store = SchemaStore({"url": "mock://x"}, client=client)
    unknown = [Event("t", 0, i, 1_000, 0, None, b"\x00\x00\x00\x03\x09abc") for i in range(3)]
    decoder = RegistryDecoder(store)
    for e in unknown:
        object.__setattr__(e, "_decoded", decoder.decode(e.value, ()))
    detector = EvolutionDetector(store)
    found = [f for e in unknown for f in detector.offer(e)]
    assert [(f.kind, f.offset) for f in found] == [("schema_unknown", 0)]
    down = SchemaStore({"url": f"http://127.0.0.1:{closed_port()}"})
    e = Event("t", 0, 0, 1_000, 0, None, b"\x00\x00\x00\x03\x09abc")
    object.__setattr__(e, "_decoded", RegistryDecoder(down).decode(e.value, ()))
    assert "registry unreachable" in e.decoded.error
    assert not isinstance(down.cached(3), Failure)  # an outage is not "unknown"
    assert EvolutionDetector(down).offer(e) == []


def test_the_checker_runs_the_plugin_detector_with_the_built_ins(client, registry_url):
    v1 = client.register_schema("c-value", Schema(json.dumps({"type": "record", "name": "C",
        "fields": [{"name": "id", "type": "string"}]}), "AVRO"))  # fmt: skip
    v2 = client.register_schema("c-value", Schema(json.dumps({"type": "record", "name": "C",
        "fields": [{"name": "id", "type": "string"}, {"name": "x", "type": "int",
        "default": 0}]}), "AVRO"))  # fmt: skip
    body = b"\x02a"  # id "a"
    events = [
        Event("c", 0, 0, 1_000, 0, b"k", b"\x00" + v1.to_bytes(4, "big") + body),
        Event("c", 0, 1, 2_000, 0, b"k", b"\x00" + v2.to_bytes(4, "big") + body + b"\x00"),
        Event("c", 0, 2, 90_000, 0, b"k", b"\x00" + v1.to_bytes(4, "big") + body),
    ]
    checker = Checker(("schema_regression",))
    from evtui.core.problems import RecordProblems

    checker.offer_batch(events, RecordProblems())
    found = checker.finish()
    assert [(f.kind, f.offset) for f in found] == [("schema_regression", 2)]
