"""The cluster overview core: rates, filters, and the demo poller on a real DemoSource."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import Future
from pathlib import Path
from types import SimpleNamespace

import pytest
from confluent_kafka.admin import OffsetSpec

from evtui.config import ClientConfig
from evtui.core.cluster import (
    ClusterSnapshot,
    ConnectionState,
    GroupInfo,
    RateTracker,
    TopicInfo,
    filter_groups,
    filter_topics,
)
from evtui.sim.model import FaultRates
from evtui.sim.shop import ShopSimulator
from evtui.sources.cluster import ClusterPoller, DemoClusterPoller, chunks, group_state, group_type
from evtui.sources.demo import DemoSource

# -- RateTracker --------------------------------------------------------------


def test_rate_is_unknown_until_two_points_then_events_per_second():
    rates = RateTracker()
    assert rates.update(0, {"a": 100}) == {"a": None}
    assert rates.update(2_000, {"a": 300}) == {"a": 100.0}
    assert rates.update(4_000, {"a": 700}) == {"a": 150.0}  # over the window: 600 in 4 s


def test_flat_topic_rate_is_zero():
    rates = RateTracker()
    rates.update(0, {"a": 5})
    assert rates.update(1_000, {"a": 5}) == {"a": 0.0}


def test_end_offset_going_down_restarts_the_window():
    rates = RateTracker()
    rates.update(0, {"a": 1_000, "b": 0})
    rates.update(1_000, {"a": 2_000, "b": 10})
    after = rates.update(2_000, {"a": 3, "b": 20})  # "a" was deleted and recreated
    assert after == {"a": None, "b": 10.0}
    assert rates.points("a") == 1
    assert rates.update(3_000, {"a": 13, "b": 30}) == {"a": 10.0, "b": 10.0}


def test_window_is_bounded_in_time_and_points():
    rates = RateTracker(window_ms=10_000, max_points=1_000)
    end = 0
    for second in range(100):  # 10/s for 50 s, then 100/s
        end += 10 if second < 50 else 100
        rate = rates.update(second * 1_000, {"a": end})
    assert rate == {"a": 100.0}
    assert rates.points("a") == 11  # the samples of the last 10 s

    few = RateTracker(window_ms=60_000, max_points=5)
    for second in range(50):
        few.update(second * 1_000, {"a": second})
    assert few.points("a") == 5


def test_slow_polls_keep_the_two_newest_points():
    rates = RateTracker(window_ms=1_000)
    rates.update(0, {"a": 0})
    assert rates.update(5_000, {"a": 50}) == {"a": 10.0}  # older than the window, still a rate
    assert rates.points("a") == 2


def test_vanished_topics_are_dropped():
    rates = RateTracker()
    rates.update(0, {"a": 1, "b": 1})
    assert rates.update(1_000, {"a": 2}) == {"a": 1.0}
    assert rates.points("b") == 0 and len(rates) == 1
    assert rates.update(2_000, {"a": 3, "b": 9}) == {"a": 1.0, "b": None}  # back: starts over


def test_same_instant_twice_keeps_the_newer_reading():
    rates = RateTracker()
    rates.update(0, {"a": 0})
    rates.update(1_000, {"a": 10})
    assert rates.update(1_000, {"a": 20}) == {"a": 20.0}
    assert rates.points("a") == 2


def test_rate_tracker_rejects_a_useless_window():
    with pytest.raises(ValueError):
        RateTracker(window_ms=0)
    with pytest.raises(ValueError):
        RateTracker(max_points=1)


# -- snapshot data and filters -------------------------------------------------


def snapshot() -> ClusterSnapshot:
    topics = (
        TopicInfo("orders", 3, 10, 110, internal=False, rate=2.5),
        TopicInfo("__consumer_offsets", 50, 0, 7, internal=True),
        TopicInfo("Payments", 1, 0, 0, internal=False),
        TopicInfo("__hidden_by_name", 1, 0, 0, internal=False),
        TopicInfo("audit-log", 1, 0, 4, internal=True),
        TopicInfo("ORDERS-dlq", 1, 0, 1, internal=False),
    )
    groups = (
        GroupInfo("shipping-service", "Stable", 2),
        GroupInfo("Billing", "Empty", 0, "classic"),
        GroupInfo("order-audit", "PreparingRebalance", 3),
    )
    return ClusterSnapshot("c1", 3, 1, topics, groups, 1_700_000_000_000)


def test_topic_messages_is_end_minus_start():
    assert snapshot().topics[0].messages == 100


def test_filter_topics_case_insensitive_sorted_and_internal_hidden():
    snap = snapshot()
    names = [t.name for t in filter_topics(snap, "", include_internal=False)]
    assert names == ["ORDERS-dlq", "Payments", "orders"]
    assert [t.name for t in filter_topics(snap, "oRdEr", include_internal=False)] == [
        "ORDERS-dlq",
        "orders",
    ]
    everything = [t.name for t in filter_topics(snap, "", include_internal=True)]
    assert everything == sorted(t.name for t in snap.topics)
    assert [t.name for t in filter_topics(snap, "hidden", include_internal=True)] == [
        "__hidden_by_name"
    ]
    assert filter_topics(snap, "hidden", include_internal=False) == []
    assert filter_topics(snap, "nothing-like-this", include_internal=True) == []


def test_filter_groups_case_insensitive_and_sorted():
    snap = snapshot()
    assert [g.name for g in filter_groups(snap, "")] == [
        "Billing",
        "order-audit",
        "shipping-service",
    ]
    assert [g.name for g in filter_groups(snap, "BILL")] == ["Billing"]
    assert [g.name for g in filter_groups(snap, "-")] == ["order-audit", "shipping-service"]


def test_connection_state_is_a_string():
    assert ConnectionState.AUTH_FAILED == "auth failed"
    assert f"{ConnectionState.RECONNECTING}" == "reconnecting"
    assert ConnectionState("connected") is ConnectionState.CONNECTED


def test_group_state_and_type_names():
    from confluent_kafka import ConsumerGroupState, ConsumerGroupType

    assert group_state(ConsumerGroupState.STABLE) == "Stable"
    assert group_state(ConsumerGroupState.PREPARING_REBALANCING) == "PreparingRebalance"
    assert group_state(ConsumerGroupState.COMPLETING_REBALANCING) == "CompletingRebalance"
    assert group_state(ConsumerGroupState.UNKNOWN) == "Unknown"
    assert group_state(None) == "Unknown"
    assert group_type(ConsumerGroupType.CLASSIC) == "classic"
    assert group_type(ConsumerGroupType.UNKNOWN) == "consumer"


def test_core_imports_neither_textual_nor_confluent_kafka():
    code = (
        "import sys, evtui.core.cluster; "
        "bad = [m for m in ('textual', 'confluent_kafka') if m in sys.modules]; "
        "assert not bad, bad"
    )
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)


# -- DemoClusterPoller ---------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def demo(stop_after_ms: int | None = None) -> DemoSource:
    sim = ShopSimulator(seed=9, rate=300, faults=FaultRates.none())
    return DemoSource(sim, partitions=3, duration_ms=6_000, stop_group_after_ms=stop_after_ms)


def advance(batches, sim_ms: int, batch_ms: int = 50) -> None:
    for _ in range(sim_ms // batch_ms):
        next(batches)


def test_demo_poller_topics_groups_and_rates():
    source, clock = demo(stop_after_ms=2_000), Clock()
    poller = DemoClusterPoller(source, interval=1.0, clock=clock)
    assert poller.latest() is None and poller.state is ConnectionState.CONNECTING
    poller.start()
    assert poller.state is ConnectionState.CONNECTED
    batches = source.batches()
    advance(batches, 1_000)

    first = poller.latest()
    assert first is not None and first.cluster_id == "demo" and first.brokers == 1
    ends = source.end_offsets()
    by_topic = {t.name: t for t in first.topics}
    assert set(by_topic) == {topic for topic, _ in ends}
    for name, info in by_topic.items():
        assert info.partitions == 3 and info.start_offsets == 0 and not info.internal
        assert info.end_offsets == sum(e for (t, _), e in ends.items() if t == name)
        assert info.rate is None
    assert {g.name for g in first.groups} == {g.name for g in source.sim.groups}
    assert all(g.state == "Stable" and g.members == 1 for g in first.groups)

    advance(batches, 2_000)  # past the stop of the stoppable group
    clock.now += 0.5
    assert poller.latest() is first  # rate-limited to one snapshot per interval
    clock.now += 0.5
    second = poller.latest()
    assert second is not first and poller.polls == 2
    produced = sum(
        b.end_offsets - a.end_offsets for a, b in zip(first.topics, second.topics, strict=True)
    )
    assert produced > 0
    assert sum(t.rate or 0 for t in second.topics) == pytest.approx(produced / 1.0)
    stopped = {g.name: g for g in second.groups if g.state == "Empty"}
    assert set(stopped) == set(source.groups.stopped(source.now_ms)) == {"notification-service"}
    assert stopped["notification-service"].members == 0
    assert poller.problems() == [] and poller.last_error is None

    poller.stop()
    clock.now += 5
    assert poller.latest() is second  # stopped: the last snapshot stays


def test_requests_are_chunked():
    assert [len(c) for c in chunks(list(range(2_500)))] == [1_000, 1_000, 500]
    assert list(chunks([])) == []


# -- ClusterPoller's partial failures (a stand-in admin client; the real broker is
#    exercised in tests/integration/test_cluster_poller.py) ---------------------


def done(value) -> Future:
    future: Future = Future()
    future.set_result(value)
    return future


class HalfWorkingAdmin:
    """Answers metadata and offsets; the group listing never answers."""

    def list_topics(self, timeout):
        topic = SimpleNamespace(partitions={0: None, 1: None})
        return SimpleNamespace(
            cluster_id="c", controller_id=-1, brokers={1: None}, topics={"orders": topic}
        )

    def list_offsets(self, request, **kw):
        base = 0 if next(iter(request.values())) == OffsetSpec.earliest() else 10
        return {tp: done(SimpleNamespace(offset=base + tp.partition)) for tp in request}

    def list_consumer_groups(self, **kw):
        return Future()

    def poll(self, timeout):
        return 0


def test_failed_group_listing_leaves_the_topics_filled():
    poller = ClusterPoller(ClientConfig({"bootstrap.servers": "x:1"}), timeout=0.3)
    poller._admin = HalfWorkingAdmin()
    assert poller._poll_once()
    snap = poller.latest()
    assert snap.topics == (TopicInfo("orders", 2, 1, 21, internal=False, rate=None),)
    assert snap.controller_id is None and snap.brokers == 1
    assert snap.groups == () and snap.problems == ("consumer groups: timed out",)
    assert poller.state is ConnectionState.CONNECTED
    assert poller.problems() == ["consumer groups: timed out"] and poller.problems() == []
