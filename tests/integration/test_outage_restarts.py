"""The console survives broker restarts and its pollers recover as a fresh process would.

A broker of its own (ports 29392-29394, own state dir, deleted at the end) is
stopped and started again (the log dir kept) 5 times under a running console
whose tail, overview and lag pollers are all active, while records are produced
and a consumer group commits. Each time the test waits until both pollers have
seen the outage, starts the broker, and then waits until the tail has new
records and the overview and lag are fresh again (read after the broker came
back, nothing marked stale). Before the fix the process aborted in librdkafka
(a coordinator request that had timed out during the outage was sent once the
broker was back: ``rd_kafka_enq_once_del_source_return: Assertion
'eonce->refcnt > 0' failed``), and group data stayed "timed out" for minutes.
Nothing here depends on timing: every wait is on a condition, with a generous
deadline; the recovery times are printed, never asserted.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from evtui.config import resolve_client_config
from evtui.core.cluster import ConnectionState
from evtui.tui.app import EvtuiApp
from evtui.tui.backend import KafkaBackend
from tests.conftest import OwnBroker, own_broker
from tests.tui.helpers import wait_for

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(900)]  # 5 restarts: minutes

TOPIC = "outage-orders"
GROUP = "outage-billing"
RESTARTS = 5
QUIET = logging.getLogger("tests.outage.load")  # the load's clients' complaints, captured


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[OwnBroker]:
    with own_broker(tmp_path / "kafka", 29392) as broker:
        yield broker


class Load:
    """A producer and a committing consumer group that carry on through outages."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.stop = threading.Event()
        self.threads = [
            threading.Thread(target=self._produce, daemon=True),
            threading.Thread(target=self._consume, daemon=True),
        ]

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(60)

    def _produce(self) -> None:
        from confluent_kafka import Producer

        producer = Producer({"bootstrap.servers": self.bootstrap, "linger.ms": 20, "logger": QUIET})
        n = 0
        while not self.stop.is_set():
            try:
                producer.produce(TOPIC, key=f"k{n % 7}".encode(), value=f"v{n}".encode())
                n += 1
            except BufferError:
                pass  # the broker is down and the queue is full: wait
            producer.poll(0.02)
        producer.flush(10)

    def _consume(self) -> None:
        from confluent_kafka import Consumer

        consumer = Consumer({
            "bootstrap.servers": self.bootstrap, "group.id": GROUP,
            "auto.offset.reset": "earliest", "enable.auto.commit": False, "logger": QUIET,
        })  # fmt: skip
        consumer.subscribe([TOPIC])
        try:
            while not self.stop.is_set():
                if consumer.consume(100, 0.2):
                    with contextlib.suppress(Exception):  # no coordinator now: commit later
                        consumer.commit(asynchronous=True)
        finally:
            consumer.close()


def _make_topic(bootstrap: str) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(TOPIC, 3, 1)])[TOPIC].result(30)


def _overview_fresh(app: EvtuiApp, since_ms: int) -> bool:
    poller = app.poller
    snapshot = poller.latest() if poller is not None else None
    return (
        snapshot is not None
        and snapshot.taken_ms > since_ms
        and not snapshot.problems
        and any(g.name == GROUP for g in snapshot.groups)
        and all(g.as_of_ms is None and g.members is not None for g in snapshot.groups)
    )


def _lag_fresh(app: EvtuiApp, since_ms: int) -> bool:
    poller = app.lag_poller
    report = poller.latest() if poller is not None else None
    if report is None or report.taken_ms <= since_ms or poller.last_error:
        return False
    group = next((g for g in report.groups if g.group == GROUP), None)
    return group is not None and group.problem is None and group.as_of_ms is None


def _kept(app: EvtuiApp) -> int:
    feed = app.tail.feed
    return feed.store.stats.kept + feed.store.stats.evicted if feed is not None else 0


def _both_saw_the_outage(app: EvtuiApp) -> bool:
    cluster, lag = app.poller, app.lag_poller
    return (
        cluster is not None
        and lag is not None
        and cluster.state is ConnectionState.RECONNECTING
        and lag.state is ConnectionState.RECONNECTING
    )


async def test_console_survives_five_restarts_and_recovers(broker: OwnBroker) -> None:
    _make_topic(broker.bootstrap)
    config = resolve_client_config(
        bootstrap=broker.bootstrap, cluster=None, x_options=[], config=None
    )
    app = EvtuiApp(KafkaBackend(config, timeout=2.0, poll_interval=0.5), topics=[TOPIC])
    recoveries: list[float] = []
    with Load(broker.bootstrap):
        async with app.run_test(size=(160, 45)) as pilot:
            await pilot.press("3")  # the lag tab: its poller (and commit reader) start
            started = int(time.time() * 1000)
            assert await wait_for(pilot, lambda: _overview_fresh(app, started), 120)
            assert await wait_for(pilot, lambda: _lag_fresh(app, started), 120)
            assert await wait_for(pilot, lambda: _kept(app) > 0, 120)
            for n in range(RESTARTS):
                broker.run("stop")
                assert await wait_for(pilot, lambda: _both_saw_the_outage(app), 120), n
                broker.run("start", "--keep")
                back = int(time.time() * 1000)
                kept = _kept(app)
                assert await wait_for(pilot, lambda k=kept: _kept(app) > k, 180), f"tail, {n}"
                assert await wait_for(pilot, lambda b=back: _overview_fresh(app, b), 180), n
                assert await wait_for(pilot, lambda b=back: _lag_fresh(app, b), 180), f"lag {n}"
                recoveries.append(time.time() - back / 1000)
                assert app.is_running
            print(f"recovered after each restart in {[round(r, 1) for r in recoveries]} s")
