"""The in-process demo source: offsets per partition and simulated consumer groups."""

from evtui.sim.model import FaultRates
from evtui.sim.shop import ShopSimulator
from evtui.sources.demo import SLOW_WAVE_MS, DemoSource


def run(duration_ms, stop_after_ms=None):
    sim = ShopSimulator(seed=9, rate=300, faults=FaultRates.none())
    source = DemoSource(
        sim, partitions=3, duration_ms=duration_ms, stop_group_after_ms=stop_after_ms
    )
    events = [e for batch in source.batches() for e in batch]
    return source, events


def lag(source, group):
    committed = source.group_offsets()[group]
    ends = source.end_offsets()
    topics = next(g.topics for g in source.groups.groups if g.name == group)
    return sum(end - committed.get(tp, 0) for tp, end in ends.items() if tp[0] in topics)


def test_offsets_are_dense_per_partition_and_keys_stick_to_partitions():
    source, events = run(5_000)
    assert len(events) == source.sim.truth.emitted
    by_tp = {}
    partition_of_key = {}
    for e in events:
        by_tp.setdefault((e.topic, e.partition), []).append(e.offset)
        assert partition_of_key.setdefault((e.topic, e.key), e.partition) == e.partition
    for tp, offsets in by_tp.items():
        assert offsets == list(range(len(offsets)))
        assert source.end_offsets()[tp] == len(offsets)


def test_slow_group_lags_in_its_slow_phase_then_recovers():
    slow_end, _ = run(SLOW_WAVE_MS - 500)
    assert lag(slow_end, "shipping-service") > 0.5 * sum(
        end for tp, end in slow_end.end_offsets().items() if tp[0] == "payments"
    )
    recovered, _ = run(2 * SLOW_WAVE_MS - 500)
    assert lag(recovered, "shipping-service") == 0
    assert lag(recovered, "inventory-service") == 0


def test_stopped_group_stops_committing():
    before, _ = run(4_000, stop_after_ms=2_000)
    committed = sum(before.group_offsets()["notification-service"].values())
    later, _ = run(8_000, stop_after_ms=2_000)
    assert sum(later.group_offsets()["notification-service"].values()) == committed
    assert lag(later, "notification-service") > lag(before, "notification-service") > 0
    assert later.groups.stopped(8_000) == ["notification-service"]
    assert lag(later, "payment-service") == 0
