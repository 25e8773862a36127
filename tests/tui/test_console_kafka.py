"""The console against the real broker: tail, filter, detail, errors, reconnects."""

from __future__ import annotations

import json

import pytest

from evtui.core.positions import BEGINNING
from evtui.tui.screens.detail import DetailScreen
from tests.conftest import own_broker
from tests.tui.helpers import kafka_app, rows, shown_refs, wait_for

pytestmark = pytest.mark.kafka


def _records(topic: str, n: int, start: int = 0) -> list[dict]:
    return [
        {
            "key": f"order-{i % 5}".encode(),
            "value": json.dumps(
                {"type": "OrderPlaced" if i % 2 else "OrderPaid", "n": i, "topic": topic}
            ).encode(),
            "headers": [("correlation-id", f"corr-{i}".encode()), ("bin", b"\x00\xff")],
        }
        for i in range(start, start + n)
    ]


async def test_tails_three_topics_live_and_filters_and_shows_detail(
    kafka_bootstrap, new_topic, produce
):
    topics = [new_topic(partitions=2, suffix=s) for s in ("a", "b", "c")]
    app = kafka_app(kafka_bootstrap, topics=topics, start=BEGINNING)
    async with app.run_test(size=(180, 40)) as pilot:
        assert await wait_for(pilot, lambda: app.tail.feed is not None)
        for topic in topics:  # produced while the app runs: live, not history
            produce(topic, _records(topic, 40))
        assert await wait_for(pilot, lambda: rows(app) == 120)
        refs = shown_refs(app)
        assert len(set(refs)) == 120
        assert {r.split("[")[0] for r in refs} == set(topics)
        assert app.tail.log_view.follow

        await pilot.press("e")
        await pilot.press(*'value.type == "OrderPlaced" && value.n < 10')
        await pilot.press("enter")
        assert await wait_for(pilot, lambda: rows(app) == 15)  # n = 1,3,5,7,9 per topic
        feed = app.tail.feed
        events = [feed.view.event_at(r) for r in range(rows(app))]
        assert all(e.decoded.value["type"] == "OrderPlaced" for e in events)

        await pilot.press("enter")  # the selected row's detail
        assert isinstance(app.screen, DetailScreen)
        shown = app.screen.event
        assert shown.header("correlation-id") is not None
        assert shown.ids.correlation_id == shown.header("correlation-id").decode()
        await pilot.press("escape")
        assert not isinstance(app.screen, DetailScreen)

        await pilot.press("escape")  # clears the filter
        assert await wait_for(pilot, lambda: rows(app) == 120)


async def test_invalid_filter_is_explained_and_nothing_changes(kafka_bootstrap, new_topic, produce):
    topic = new_topic()
    produce(topic, _records(topic, 10))
    app = kafka_app(kafka_bootstrap, topics=[topic], start=BEGINNING)
    async with app.run_test(size=(160, 30)) as pilot:
        assert await wait_for(pilot, lambda: rows(app) == 10)
        await pilot.press("e", *"value.n >", "enter")
        await pilot.pause(0.1)
        assert app.tail.filter is None
        assert "invalid filter" in app.tail.status_text().plain
        assert rows(app) == 10


async def test_unknown_topic_is_shown_and_the_app_keeps_running(kafka_bootstrap, new_topic):
    app = kafka_app(kafka_bootstrap, topics=["no-such-topic-here"], start=BEGINNING)
    async with app.run_test(size=(160, 30)) as pilot:
        assert await wait_for(pilot, lambda: "unknown topic" in app.tail.status_text().plain)
        topic = new_topic()
        app.tail.open([topic], BEGINNING)  # and the user can go on
        assert await wait_for(pilot, lambda: app.tail.feed is not None)


async def test_seek_and_pause_on_the_real_broker(kafka_bootstrap, new_topic, produce):
    topic = new_topic()
    produce(topic, _records(topic, 50))
    app = kafka_app(kafka_bootstrap, topics=[topic], start=BEGINNING)
    async with app.run_test(size=(160, 30)) as pilot:
        assert await wait_for(pilot, lambda: rows(app) == 50)
        app.tail.seek(__import__("evtui.core.positions", fromlist=["x"]).parse_position("-5"))
        assert await wait_for(pilot, lambda: rows(app) == 5)
        assert shown_refs(app)[0] == f"{topic}[0]@45"
        await pilot.press("space")  # pause: nothing new is taken
        produce(topic, _records(topic, 7, 50))
        await pilot.pause(1.0)
        assert rows(app) == 5 and app.tail.feed.paused
        await pilot.press("space")
        assert await wait_for(pilot, lambda: rows(app) == 12)


async def test_auth_failure_is_shown_as_such(kafka_sasl_bootstrap):
    from evtui.config import resolve_client_config
    from evtui.tui.app import EvtuiApp
    from evtui.tui.backend import KafkaBackend

    config = resolve_client_config(
        bootstrap=kafka_sasl_bootstrap,
        cluster=None,
        x_options=[
            "security.protocol=SASL_PLAINTEXT",
            "sasl.mechanism=PLAIN",
            "sasl.username=alice",
            "sasl.password=wrong-secret-123",
        ],
        config=None,
    )
    app = EvtuiApp(KafkaBackend(config, timeout=3.0, poll_interval=0.5))
    async with app.run_test(size=(160, 30)) as pilot:
        assert await wait_for(pilot, lambda: app.header_state.connection == "auth failed")
        assert "wrong-secret-123" not in app.export_screenshot()


@pytest.fixture
def restartable_broker(tmp_path):
    """A broker of its own (other ports) that this test stops and restarts with its data."""
    with own_broker(tmp_path / "kafka", 19392) as broker:
        yield broker


async def test_console_recovers_when_the_broker_restarts(restartable_broker):
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    bootstrap, harness = restartable_broker.bootstrap, restartable_broker.run
    topic = "restart-me"
    admin = AdminClient({"bootstrap.servers": bootstrap})  # kept alive until the topic exists
    admin.create_topics([NewTopic(topic, 2, 1)])[topic].result(timeout=30)

    def send(start: int, n: int) -> None:
        producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
        for record in _records(topic, n, start):
            producer.produce(topic, **record)
        assert producer.flush(30) == 0

    send(0, 30)
    app = kafka_app(bootstrap, topics=[topic], start=BEGINNING)
    async with app.run_test(size=(160, 30)) as pilot:
        assert await wait_for(pilot, lambda: rows(app) == 30)
        harness("stop")
        assert await wait_for(
            pilot, lambda: app.header_state.connection == "reconnecting", timeout=30
        )
        harness("start", "--keep")
        send(30, 30)
        assert await wait_for(pilot, lambda: rows(app) == 60, timeout=60)
        assert await wait_for(pilot, lambda: app.header_state.connection == "connected", 30)
        refs = shown_refs(app)
        assert len(refs) == len(set(refs)) == 60  # nothing lost, nothing twice
        values = sorted(app.tail.feed.view.event_at(r).decoded.value["n"] for r in range(60))
        assert values == list(range(60))
