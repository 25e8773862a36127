"""The demo simulator: deterministic, realistic conventions, exact ground truth."""

from __future__ import annotations

import json
import re
import uuid
from collections import defaultdict

import pytest

from evtui.sim.conventions import span_id
from evtui.sim.model import FaultRates, TopicNames
from evtui.sim.shop import ShopSimulator

HIGH = FaultRates(0.05, 0.05, 0.05, 0.05, 0.05)


def ids(record):
    """(event id, correlation id, causation id) as each convention carries them."""
    h = dict(record.headers)
    body = json.loads(record.value)
    if "ce_id" in h:  # CloudEvents binary
        cause = h.get("ce_causationid")
        return h["ce_id"].decode(), h["ce_correlationid"].decode(), cause and cause.decode()
    if "traceparent" in h:  # W3C trace context + generic headers
        trace = h["traceparent"].decode().split("-")[1]
        cause = h.get("causation-id")
        return h["message-id"].decode(), trace, cause and cause.decode()
    if h.get("content-type", b"").startswith(b"application/cloudevents+json"):
        return body["id"], body["correlationid"], body.get("causationid")
    if "metadata" in body:  # event-store style
        meta = body["metadata"]
        return body["eventId"], meta["$correlationId"], meta["$causationId"]
    return body["eventId"], body["correlationId"], body["causationId"]


def test_same_seed_same_records_other_seed_other_records():
    def run(seed):
        return ShopSimulator(seed=seed, rate=500, faults=HIGH).take(2000)

    assert run(7) == run(7)
    assert run(7) != run(8)


def test_every_convention_carries_the_ids():
    sim = ShopSimulator(seed=1, rate=200)
    seen_services = set()
    for record in sim.take(1500):
        event_id, corr, cause = ids(record)
        assert (event_id, corr, cause) == (
            record.event_id,
            record.correlation_id,
            record.causation_id,
        )
        seen_services.add(record.service)
    assert seen_services == {"storefront", "inventory", "payment", "shipping", "notification"}


def test_flows_are_causal_chains_except_where_orphaned():
    sim = ShopSimulator(seed=2, rate=300, faults=HIGH)
    records = sim.take(4000)
    produced = {r.event_id for r in records}
    orphans = {f.event_ids[0]: f.event_ids[1] for f in sim.truth.faults if f.kind == "orphan"}
    assert orphans, "expected some orphans at this rate"
    for r in records:
        if r.causation_id is None:
            continue
        if r.event_id in orphans:
            assert r.causation_id == orphans[r.event_id] and r.causation_id not in produced
        else:
            cause = sim.truth.events[r.causation_id]
            assert cause.correlation_id == r.correlation_id


def test_fault_ground_truth_is_exact():
    sim = ShopSimulator(seed=3, rate=300, faults=HIGH)
    records = sim.take(5000)
    kinds = defaultdict(set)
    for f in sim.truth.faults:
        kinds[f.kind].add(f.event_ids)
    assert set(kinds) == {
        "out_of_order",
        "duplicate",
        "orphan",
        "cause_after_effect",
        "time_backwards",
    }

    # duplicates: exactly the recorded event ids appear twice, byte for byte
    by_id = defaultdict(list)
    for r in records:
        by_id[r.event_id].append(r)
    twice = {eid for eid, rs in by_id.items() if len(rs) > 1}
    assert twice == {ids_[0] for ids_ in kinds["duplicate"]} & set(by_id)
    for eid in twice:
        a, b = by_id[eid]
        assert (a.value, a.headers, a.key) == (b.value, b.headers, b.key)

    # sequences regress exactly where out_of_order says (duplicates repeat, never regress)
    last: dict = {}
    regressions = set()
    for r in records:
        if r.sequence is None:
            continue
        k = (r.topic, r.key)
        if k in last and r.sequence < last[k][0]:
            regressions.add((last[k][1], r.event_id))
        last[k] = (max(r.sequence, last.get(k, (0,))[0]), r.event_id)
    assert regressions == kinds["out_of_order"] & regressions
    assert {pair for pair in kinds["out_of_order"] if pair[0] in by_id} <= regressions

    # effects before causes exactly where recorded
    position = {}
    for i, r in enumerate(records):
        position.setdefault(r.event_id, i)
    inversions = {
        (r.event_id, r.causation_id)
        for r in records
        if r.causation_id in position and position[r.causation_id] > position[r.event_id]
    }
    assert inversions == {p for p in kinds["cause_after_effect"] if p[0] in position}

    # event time goes backwards per key exactly where recorded
    backwards = set()
    last_time: dict = {}
    for r in records:
        k = (r.topic, r.key)
        if k in last_time and r.event_time_ms < last_time[k]:
            backwards.add((r.event_id,))
        last_time[k] = max(r.event_time_ms, last_time.get(k, 0))
    assert backwards == {p for p in kinds["time_backwards"] if p[0] in position}


def test_no_faults_means_clean_streams():
    sim = ShopSimulator(seed=4, rate=300, faults=FaultRates.none())
    records = sim.take(3000)
    assert sim.truth.faults == []
    assert len({r.event_id for r in records}) == len(records)
    last: dict = {}
    for r in records:
        if r.sequence is not None:
            assert r.sequence == last.get((r.topic, r.key), 0) + 1
            last[(r.topic, r.key)] = r.sequence


def test_topic_names_are_configurable_and_rate_is_validated():
    names = TopicNames(
        orders="shop.orders",
        payments="shop.payments",
        inventory="shop.stock",
        shipments="shop.shipments",
        notifications="shop.notify",
    )
    sim = ShopSimulator(seed=5, topics=names)
    assert {r.topic for r in sim.take(500)} <= set(names.all())
    assert {g.name for g in sim.groups} >= {"payment-service", "shipping-service"}
    with pytest.raises(ValueError):
        ShopSimulator(rate=0)


def test_rate_sets_the_timeline():
    records = ShopSimulator(seed=6, rate=100).take(3000)
    span_s = (records[-1].at_ms - records[0].at_ms) / 1000
    assert 20 < span_s < 40  # ~3000 events at ~100 events/s


def test_demo_topic_options():
    from evtui.commands.demo import topic_names
    from evtui.errors import UsageError

    names = topic_names("x.", ["orders=shop-orders"])
    assert names.orders == "x.shop-orders" and names.payments == "x.payments"
    for bad in (["orders"], ["bogus=a"], ["orders="], ["orders=payments"]):
        with pytest.raises(UsageError):
            topic_names("", bad)


def shape(records):
    """What a run does, without its ids and keys: flows, timing, sequences, event times."""
    return [
        (r.at_ms, r.topic, r.service, r.event_type, r.sequence, r.event_time_ms, len(r.headers))
        for r in records
    ]


def test_a_run_id_gives_the_same_run_in_a_namespace_of_its_own():
    plain, a, again, b = (
        ShopSimulator(seed=8, rate=400, faults=HIGH, run_id=run)
        for run in ("", "7a1f", "7a1f", "b2")
    )
    runs = {name: sim.take(3000) for name, sim in (("plain", plain), ("a", a), ("b", b))}
    assert again.take(3000) == runs["a"]  # the same seed and run id: the same records
    assert shape(runs["a"]) == shape(runs["b"]) == shape(runs["plain"])
    assert [f.kind for f in a.truth.faults] == [f.kind for f in b.truth.faults]
    assert [f.kind for f in a.truth.faults] == [f.kind for f in plain.truth.faults]
    assert a.truth.run_id == "7a1f" and a.truth.to_json()["run_id"] == "7a1f"

    def names(records):
        """Every id and key a run used (causes and injected faults' ids included)."""
        out = set()
        for r in records:
            event_id, corr, cause = ids(r)
            out |= {event_id, corr, cause, r.key, span_id(event_id)} - {None}
        return out

    used = {name: names(records) for name, records in runs.items()}
    assert not used["a"] & used["b"] and not used["a"] & used["plain"]
    assert not used["b"] & used["plain"]
    for r in runs["a"]:
        assert "-7a1f-" in r.key.decode()
        assert ids(r) == (r.event_id, r.correlation_id, r.causation_id)
        assert uuid.UUID(r.event_id).version == 4 and re.fullmatch("[0-9a-f]{32}", r.correlation_id)
    assert all(re.fullmatch(r"(order|sku|cust)-\d+", r.key.decode()) for r in runs["plain"])


def test_the_run_id_option():
    from evtui.commands.demo import DemoOptions, cluster_simulator, make_simulator, parse_run_id
    from evtui.errors import UsageError

    assert make_simulator(DemoOptions()).run_id == ""  # in-process: the plain seeded names
    fresh = {cluster_simulator(DemoOptions()).run_id for _ in range(3)}
    assert len(fresh) == 3 and all(re.fullmatch("[0-9a-f]{8}", r) for r in fresh)
    assert cluster_simulator(DemoOptions(run_id="")).run_id == ""
    assert cluster_simulator(DemoOptions(run_id="ci-42")).run_id == "ci-42"
    assert parse_run_id("ci.42_x") == "ci.42_x"
    for bad in ("a b", "a/b", "x" * 33):
        with pytest.raises(UsageError):
            parse_run_id(bad)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_run_that_keeps_no_truth_counts_the_same_and_keeps_nothing(seed):
    """`evtui demo` without --truth: flat memory, the same summary."""
    kept = ShopSimulator(seed=seed, rate=500, faults=HIGH)
    counted = ShopSimulator(seed=seed, rate=500, faults=HIGH, keep_truth=False)
    assert [r.value for r in kept.take(5000)] == [r.value for r in counted.take(5000)]
    assert counted.truth.events == {} and counted.truth.flows == {}
    assert list(counted.truth.faults) == []  # counted, not kept
    assert counted.truth.emitted == kept.truth.emitted == 5000
    assert counted.truth.flows_emitted == kept.truth.flows_emitted == len(kept.truth.flows)
    assert counted.truth.fault_kinds() == kept.truth.fault_kinds()
    assert sum(kept.truth.fault_kinds().values()) >= 20


def test_the_demo_keeps_its_truth_only_when_asked_to_write_it(tmp_path):
    from evtui.commands.demo import DemoOptions, make_simulator, summary

    assert make_simulator(DemoOptions()).truth.kept
    assert not make_simulator(DemoOptions(keep_truth=False)).truth.kept
    sim = make_simulator(DemoOptions(keep_truth=False, truth=tmp_path / "t.json"))
    assert sim.truth.kept
    counted = make_simulator(DemoOptions(seed=3, rate=300, keep_truth=False))
    kept = make_simulator(DemoOptions(seed=3, rate=300))
    counted.take(3000)
    kept.take(3000)
    assert summary(counted) == summary(kept)


def test_per_key_sequences_are_kept_only_for_keys_flows_share():
    """An order's sequence lives with its flow: the map keeps only the shared keys (skus)."""
    sim = ShopSimulator(seed=8, rate=500, faults=HIGH, keep_truth=False)
    seen: dict[tuple[str, bytes], list[int]] = defaultdict(list)
    for record in sim.take(20_000):
        body = json.loads(record.value)
        seq = body.get("sequence", (body.get("data") or {}).get("sequence"))
        if record.topic == "orders" and seq is not None:
            seen[(record.topic, record.key)].append(seq)
    assert len(seen) > 1000
    assert all(sorted(set(s)) == list(range(1, max(s) + 1)) for s in seen.values())
    assert len(sim._sequences) <= 40  # the inventory's skus, not every order
