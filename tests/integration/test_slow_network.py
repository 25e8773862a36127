"""A slow, jittery network that cuts connections (issue 19, part 4): the console stays
responsive and correct. The broker is reached only through Toxiproxy (it advertises the
proxy's port), with latency and jitter on both directions, data sliced into small delayed
pieces, and every connection reset for a while in the middle; records produced meanwhile
must all arrive in the tail, each once, offsets contiguous. How long keys took is printed,
never asserted (the machine's load is not evtui's)."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Iterator

import pytest

from evtui.core.positions import BEGINNING
from tests.conftest import OwnBroker, own_broker
from tests.integration import toxiproxy
from tests.tui.helpers import kafka_app, rows, wait_for

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(600)]

BROKER, PROXY, API = 29692, 29699, 29698


@pytest.fixture(scope="module")
def proxied(tmp_path_factory) -> Iterator[tuple[OwnBroker, toxiproxy.Toxiproxy, str]]:
    path = toxiproxy.binary()
    if path is None:
        pytest.skip("no toxiproxy (set EVTUI_TOXIPROXY, or install Go to build it)")
    proxy = toxiproxy.Toxiproxy(path, API)
    try:
        proxy.proxy("kafka", PROXY, BROKER)
        import os

        os.environ["EVTUI_KAFKA_ADVERTISED_PORT"] = str(PROXY)
        try:
            with own_broker(tmp_path_factory.mktemp("slow") / "kafka", BROKER) as broker:
                yield broker, proxy, f"127.0.0.1:{PROXY}"
        finally:
            os.environ.pop("EVTUI_KAFKA_ADVERTISED_PORT", None)
    finally:
        proxy.stop()


def produce(bootstrap: str, topic: str, start: int, n: int) -> None:
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5,
                         "enable.idempotence": True})  # fmt: skip
    for i in range(start, start + n):
        producer.produce(topic, json.dumps({"n": i}).encode(), f"k{i % 11}".encode())
        producer.poll(0)
    assert producer.flush(120) == 0


async def test_the_console_stays_correct_and_answers_keys_on_a_bad_network(proxied):
    _, proxy, bootstrap = proxied
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic("slow-orders", 3, 1)])["slow-orders"].result(60)
    produce(bootstrap, "slow-orders", 0, 300)
    app = kafka_app(bootstrap, topics=["slow-orders"], start=BEGINNING)
    keys: list[float] = []
    healthy: list[float] = []
    async with app.run_test(size=(160, 40)) as pilot:

        async def press(key: str, into: list[float] = keys) -> None:
            started = time.perf_counter()
            await pilot.press(key)
            into.append(time.perf_counter() - started)

        assert await wait_for(pilot, lambda: rows(app) == 300, timeout=120)
        for key in ("1", "3", "4", "5", "2", "j", "k"):  # the same keys, the network healthy
            await press(key, healthy)
        for stream in ("downstream", "upstream"):
            proxy.toxic("kafka", "latency", stream, latency=120, jitter=80)
        proxy.toxic("kafka", "slicer", "downstream", average_size=256, size_variation=128,
                    delay=2000)  # fmt: skip
        cut = proxy.toxic("kafka", "reset_peer", "downstream", timeout=0)  # every connection cut
        for key in ("1", "3", "4", "5", "2"):
            await press(key)
            await pilot.pause(0.5)
        produce_later = 200
        proxy.remove("kafka", cut)  # the network comes back (still slow)
        produce(bootstrap, "slow-orders", 300, produce_later)
        for key in ("1", "2", "5", "2", "j", "k"):
            await press(key)
        assert await wait_for(pilot, lambda: rows(app) == 500, timeout=180)
        store = app.tail.feed.store
        events = list(store.range(store.first, store.next))
        by_partition: dict[int, list[int]] = {}
        for event in events:
            by_partition.setdefault(event.partition, []).append(event.offset)
        for partition, offsets in by_partition.items():
            assert offsets == list(range(len(offsets))), partition  # contiguous, each once
        assert sorted(json.loads(e.value)["n"] for e in events) == list(range(500))
        assert app.tail.feed.stats.sampled_out == 0
    for label, taken in (("healthy network", healthy), ("slow, cut network", keys)):
        ms = sorted(k * 1000 for k in taken)
        print(f"\nkeys ({label}): {len(ms)} presses through the pilot, median "
              f"{statistics.median(ms):.0f} ms, worst {ms[-1]:.0f} ms")  # fmt: skip
