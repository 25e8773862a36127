"""The in-process demo source: offsets per partition, simulated consumer groups, seeking."""

import time

import pytest

from evtui.core.positions import BEGINNING, END, Kind, Position
from evtui.errors import UsageError
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


# -- seeking: replays of the same simulation -------------------------------------------------

HISTORY_MS = 3_000


def make_source(**kw) -> DemoSource:
    sim = ShopSimulator(seed=4, rate=400, start_ms=1_800_000_000_000)
    return DemoSource(sim, partitions=3, **kw)


def record(e) -> tuple:
    return (e.topic, e.partition, e.offset, e.timestamp, e.key, e.value, e.headers)


def take_until(source: DemoSource, until_ms: int, gen=None) -> list[tuple]:
    """Events of the unpaced timeline until the source's sim time reaches ``until_ms``."""
    gen = gen if gen is not None else source.batches()
    out: list[tuple] = []
    for batch in gen:
        out += [record(e) for e in batch]
        if source.now_ms >= until_ms:
            break
    return out


@pytest.fixture(scope="module")
def original():
    """The first run: its history (up to HISTORY_MS), then what came after, up to twice that."""
    source = make_source()
    gen = source.batches()
    history = take_until(source, HISTORY_MS, gen)
    groups = source.group_offsets()
    seek = source.reopen(END)  # never run: its own reopen() replays the same history
    news = take_until(source, 2 * HISTORY_MS, gen)
    return history, news, groups, seek


POSITIONS = {
    "beginning": BEGINNING,
    "end": END,
    "offset": Position(Kind.OFFSET, 40),
    "offset-past-end": Position(Kind.OFFSET, 10_000),
    "tail": Position(Kind.TAIL, 25),
    "time": Position(Kind.TIME, 1_800_000_000_000 + 1_234),
}


def expected_history(kind: str, history: list[tuple]) -> list[tuple]:
    """What Kafka would deliver of the history for each start position."""
    by_tp: dict[tuple, list[tuple]] = {}
    for r in history:
        by_tp.setdefault(r[:2], []).append(r)
    if kind == "beginning":
        return history
    if kind in ("end", "offset-past-end"):
        return []
    if kind == "offset":
        return [r for r in history if r[2] >= 40]
    if kind == "tail":
        return [r for r in history if r[2] >= len(by_tp[r[:2]]) - 25]
    starts = {  # time: per partition, from the first record at or after it
        tp: next((r[2] for r in rs if r[3] >= POSITIONS["time"].value), len(rs))
        for tp, rs in by_tp.items()
    }
    return [r for r in history if r[2] >= starts[r[:2]]]


@pytest.mark.parametrize("kind", POSITIONS)
def test_reopen_replays_the_same_history_from_each_start_position(original, kind):
    history, news, _, seek = original
    source = seek.reopen(POSITIONS[kind])
    assert source.elapsed_ms == HISTORY_MS
    replay = take_until(source, 2 * HISTORY_MS)
    got_history, got_news = replay[: len(replay) - len(news)], replay[len(replay) - len(news) :]
    assert got_news == news  # after the history: everything, same offsets and values
    assert got_history == expected_history(kind, history)
    assert 0 < len(got_history) < len(history) or kind in ("beginning", "end", "offset-past-end")


def test_replayed_groups_commit_the_same_offsets(original):
    _, _, groups, seek = original
    source = seek.reopen(END)
    take_until(source, HISTORY_MS)
    assert source.group_offsets() == groups


def test_topic_subset_keeps_offsets_and_raises_on_unknown_topics(original):
    history, _, _, _ = original
    source = make_source(topics=["orders", "^pay"], start=BEGINNING, elapsed_ms=HISTORY_MS)
    assert source.topics == ["orders", "payments"]
    assert source.stats.partitions == 6
    assert take_until(source, HISTORY_MS) == [r for r in history if r[0] in source.topics]
    assert source.reopen(END).topics == ["orders", "payments"]
    assert source.reopen(END, topics=["^n"]).topics == ["notifications"]
    with pytest.raises(UsageError, match="unknown topic 'order'"):
        make_source(topics=["order"])
    with pytest.raises(UsageError, match="no demo topic matches"):
        make_source(topics=["^nope"])


def test_default_is_every_record_from_the_start(original):
    history, news, _, _ = original
    source = make_source()
    assert take_until(source, 2 * HISTORY_MS) == history + news


def drain(source: DemoSource, seconds: float) -> list:
    events: list = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        events += source.get_batch(0.02) or []
    return events


def test_started_replay_delivers_history_at_once_then_paces_in_real_time(original):
    history, _, _, _ = original
    source = make_source(start=BEGINNING, elapsed_ms=HISTORY_MS, max_batch=500)
    t0 = time.monotonic()
    source.start()
    try:
        first = drain(source, 0.5)
        assert [record(e) for e in first[: len(history)]] == history  # at once, not in 3 s
        later = first + drain(source, 0.5)
    finally:
        source.stop()
    wall_ms = (time.monotonic() - t0) * 1000
    news = later[len(history) :]
    assert news, "records after the history keep coming"
    # paced: nothing from further ahead than the wall clock allows (one batch of slack)
    newest = max(e.timestamp for e in news) - 1_800_000_000_000
    assert HISTORY_MS < newest <= HISTORY_MS + wall_ms + source.batch_ms


def test_history_arrives_in_merged_batches_of_at_most_max_batch():
    source = make_source(start=BEGINNING, elapsed_ms=HISTORY_MS, max_batch=300)
    source.start()
    try:
        sizes = []
        deadline = time.monotonic() + 2
        while sum(sizes) < 1000 and time.monotonic() < deadline:
            batch = source.get_batch(0.05)
            if batch:
                sizes.append(len(batch))
    finally:
        source.stop()
    assert sum(sizes) >= 1000
    assert max(sizes) <= 300 + 400  # a batch can overshoot by one 50 ms slice
    assert sizes[0] >= 300


def test_end_on_a_started_replay_skips_the_history():
    source = make_source(start=END, elapsed_ms=HISTORY_MS)
    source.start()
    try:
        events = drain(source, 0.5)
    finally:
        source.stop()
    assert events
    assert min(e.timestamp for e in events) > 1_800_000_000_000 + HISTORY_MS
