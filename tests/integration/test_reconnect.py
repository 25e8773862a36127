"""A source survives a broker restart that keeps its data: honest state, nothing lost or twice.

Runs a broker of its own (other ports, its own state dir), which this test
stops and restarts with ``kafka-local restart`` (the log dir is kept).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from evtui.config import ClientConfig
from evtui.core.positions import BEGINNING
from evtui.sources.base import Problem, SourceState
from evtui.sources.kafka import KafkaSource
from tests.conftest import OwnBroker, own_broker

pytestmark = pytest.mark.kafka

TP = tuple[int, int]  # (partition, offset)
TOPIC = "reconnect"


@pytest.fixture
def restartable_broker(tmp_path: Path) -> Iterator[OwnBroker]:
    """A broker on ports 19292..19294 that this test may stop and restart."""
    with own_broker(tmp_path / "kafka", 19292) as broker:
        yield broker


def _produce(bootstrap: str, first: int, count: int) -> set[TP]:
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    delivered: set[TP] = set()
    errors: list[object] = []

    def done(err: object, msg: object) -> None:
        if err is not None:
            errors.append(err)
        else:
            delivered.add((msg.partition(), msg.offset()))  # type: ignore[attr-defined]

    for i in range(first, first + count):
        producer.produce(TOPIC, key=f"k{i}".encode(), value=f"v{i}".encode(), on_delivery=done)
        producer.poll(0)
    assert producer.flush(30) == 0
    assert not errors, errors[:3]
    assert len(delivered) == count
    return delivered


def _ends(records: set[TP]) -> dict[int, int]:
    return {p: max(o for q, o in records if q == p) + 1 for p, _ in records}


def _firsts(records: set[TP]) -> dict[int, int]:
    return {p: min(o for q, o in records if q == p) for p, _ in records}


def _wait_for(predicate: Callable[[], bool], timeout: float) -> float | None:
    """Seconds until ``predicate`` held, or None when it did not within ``timeout``."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if predicate():
            return time.monotonic() - t0
        time.sleep(0.05)
    return None


class Reader:
    """Drains a source, keeping every (partition, offset) and every problem."""

    def __init__(self, source: KafkaSource) -> None:
        self.source = source
        self.seen: list[TP] = []
        self.problems: list[Problem] = []

    def drain(self) -> None:
        batch = self.source.get_batch(0.05)
        self.seen += [(e.partition, e.offset) for e in batch or []]
        self.problems += self.source.problems()

    def until(self, predicate: Callable[[], bool], timeout: float) -> float | None:
        def step() -> bool:
            self.drain()
            return predicate()

        return _wait_for(step, timeout)

    def state_is(self, state: SourceState) -> Callable[[], bool]:
        return lambda: self.source.state is state


# librdkafka's defaults report a broker that stays down in every poll round; with a
# slower reconnect backoff most rounds are quiet, which once made the state flicker.
BACKOFFS = {
    "default-backoff": {},
    "slow-backoff": {"reconnect.backoff.ms": "1000", "reconnect.backoff.max.ms": "2000"},
}


@pytest.mark.parametrize("client", BACKOFFS.values(), ids=BACKOFFS.keys())
def test_source_reconnects_after_a_restart_and_loses_nothing(restartable_broker, client):
    from confluent_kafka.admin import AdminClient, NewTopic

    bootstrap = restartable_broker.bootstrap
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(TOPIC, 2, 1)])[TOPIC].result(timeout=30)
    del admin  # it would retry its connection all through the outage
    before = _produce(bootstrap, 0, 500)
    assert {p for p, _ in before} == {0, 1}

    config = ClientConfig({"bootstrap.servers": bootstrap, **client})
    source = KafkaSource(config, [TOPIC], BEGINNING, timeout=10)
    reader = Reader(source)
    try:
        source.start()
        assert reader.until(lambda: len(reader.seen) >= 500, 30) is not None
        assert set(reader.seen) == before and len(reader.seen) == 500
        assert source.state is SourceState.CONNECTED

        stopped = restartable_broker.harness("stop")
        assert stopped.returncode == 0, stopped.stderr
        took = reader.until(reader.state_is(SourceState.RECONNECTING), 15)
        assert took is not None, (source.state, reader.problems)
        assert any("connection" in p.message for p in reader.problems), reader.problems
        # Down means down: no quiet poll round brings CONNECTED back, no repeated warning.
        assert reader.until(lambda: source.state is not SourceState.RECONNECTING, 3) is None
        assert len([p for p in reader.problems if "connection problem" in p.message]) == 1

        restarted = restartable_broker.harness("start", "--keep")
        t_restart = time.monotonic()
        assert restarted.returncode == 0, restarted.stderr[-2000:]
        # librdkafka's default reconnect backoff grows to 10 s (+20% jitter) while the
        # broker is down, so the first attempt after it is back may come 12 s later.
        back = reader.until(reader.state_is(SourceState.CONNECTED), 30)
        assert back is not None, (source.state, reader.problems)
        assert any(p.level == "info" and "restored" in p.message for p in reader.problems)

        after = _produce(bootstrap, 500, 500)
        assert _firsts(after) == _ends(before)  # offsets go on: the log was kept
        assert reader.until(lambda: len(reader.seen) >= 1000, 30) is not None
        reader.until(lambda: False, 1)  # anything extra (a duplicate) would show up now
        assert source.state is SourceState.CONNECTED
        print(
            f"RECONNECTING {took:.1f}s after the stop; CONNECTED {back:.1f}s after the broker "
            f"was back; all 500 new read {time.monotonic() - t_restart:.1f}s after it"
        )
    finally:
        source.stop()
    new = reader.seen[500:]
    assert len(new) == len(set(new)) == 500
    assert set(new) == after
    assert sum(_ends(before | after).values()) == 1000
    assert [p for p in reader.problems if p.level == "error"] == []
