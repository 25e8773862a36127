"""The demo shop through the in-memory registry: Avro orders, Protobuf payments, and the
planted schema regression found exactly (and nothing else about schemas)."""

from __future__ import annotations

import itertools

from evtui_schema_registry.demo import LEGACY, DemoEncoder

from evtui.core.event import Event
from evtui.core.ordering import Checker
from evtui.core.problems import RecordProblems
from evtui.sim.shop import ShopSimulator
from evtui.sources.demo import partition_for


def shop_events(registry_url, seconds=180, upgrade_s=60):
    sim = ShopSimulator(seed=5, rate=40)
    sim.encoder = DemoEncoder({"url": registry_url}, "orders", "payments", upgrade_s * 1000)
    offsets = itertools.count()
    events = [
        Event(r.topic, partition_for(r.key, 3), next(offsets), sim.start_ms + r.at_ms, 0, r.key,
              r.value, r.headers)
        for r in sim.records(until_ms=seconds * 1000)
    ]  # fmt: skip
    return sim, events


def test_orders_and_payments_decode_and_the_upgrade_is_seen(registry_url):
    sim, events = shop_events(registry_url)
    orders = [e for e in events if e.topic == "orders"]
    payments = [e for e in events if e.topic == "payments"]
    assert orders and payments
    assert all(e.decoded.error is None and e.decoded.decoder == "avro" for e in orders)
    assert all(e.decoded.decoder == "protobuf" for e in payments)
    versions = {(e.decoded.value["service"], e.decoded.schema.version) for e in orders}
    assert versions == {("storefront", 1), ("storefront", 2), (LEGACY, 1)}
    # ids still join the flows: every order's correlation id is the simulator's
    truth = {eid: r.correlation_id for eid, r in sim.truth.events.items()}
    assert all(truth[e.ids.event_id] == e.ids.correlation_id for e in orders)
    assert [f.kind for f in sim.truth.faults].count("schema_regression") == 1


def test_check_finds_the_planted_regression_once_and_nothing_else(registry_url):
    _, events = shop_events(registry_url)
    checker = Checker(("schema_regression", "schema_unknown"))
    problems = RecordProblems()
    for start in range(0, len(events), 500):
        checker.offer_batch(events[start : start + 500], problems)
    found = checker.finish()
    assert [(f.kind, f.topic) for f in found] == [("schema_regression", "orders")]
    assert LEGACY in found[0].seen and "orders-value v1" in found[0].seen
    assert not problems.by_topic
