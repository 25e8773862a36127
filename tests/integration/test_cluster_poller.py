"""The cluster overview poller against the real broker: topics, offsets, rates, groups, failures."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
from confluent_kafka import Consumer, TopicPartition

from evtui.config import ClientConfig, Secret
from evtui.core.cluster import ClusterSnapshot, ConnectionState, GroupInfo, TopicInfo
from evtui.sources.cluster import ClusterPoller

pytestmark = pytest.mark.kafka


def wait_for(predicate: Callable[[], object], timeout: float = 8.0) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    return predicate()


def topic_in(snapshot: ClusterSnapshot | None, name: str) -> TopicInfo | None:
    return next((t for t in snapshot.topics if t.name == name), None) if snapshot else None


def group_in(snapshot: ClusterSnapshot | None, name: str) -> GroupInfo | None:
    return next((g for g in snapshot.groups if g.name == name), None) if snapshot else None


@pytest.fixture
def poller() -> Iterator[Callable[..., ClusterPoller]]:
    """Start pollers; every one is stopped after the test."""
    made: list[ClusterPoller] = []

    def make(config: ClientConfig, **kw: float) -> ClusterPoller:
        p = ClusterPoller(config, **kw)
        made.append(p)
        p.start()
        return p

    yield make
    for p in made:
        p.stop()


@pytest.fixture
def plain(kafka_bootstrap: str) -> ClientConfig:
    return ClientConfig({"bootstrap.servers": kafka_bootstrap})


def test_topics_partitions_and_offsets(plain, poller, new_topic, produce, admin):
    topic = new_topic(partitions=3)
    produce(topic, [{"value": b"x", "partition": i % 3} for i in range(30)])
    admin.delete_records([TopicPartition(topic, 0, 4)])[TopicPartition(topic, 0)].result(10)

    p = poller(plain, interval=0.5)
    seen = wait_for(lambda: (t := topic_in(p.latest(), topic)) and t.end_offsets == 30 and t)
    assert seen == TopicInfo(topic, 3, 4, 30, internal=False, rate=seen.rate)
    assert seen.messages == 26
    snap = p.latest()
    assert p.state is ConnectionState.CONNECTED and p.last_error is None
    assert snap.cluster_id and snap.brokers >= 1 and snap.controller_id is not None
    assert snap.problems == () and p.problems() == []
    offsets = topic_in(snap, "__consumer_offsets")
    assert offsets is None or offsets.internal


def test_rate_while_producing_and_polls_never_overlap(plain, poller, new_topic, produce):
    topic = new_topic(partitions=2)
    p = poller(plain, interval=0.5)
    started = time.monotonic()

    def rate() -> float | None:
        produce(topic, [{"value": b"r"} for _ in range(20)])
        t = topic_in(p.latest(), topic)
        return t.rate if t is not None and t.rate else None

    assert wait_for(rate) > 0
    elapsed = time.monotonic() - started
    assert p.polls <= elapsed / 0.5 + 1  # the next poll starts `interval` after the last ended


def test_a_real_group_shows_up_and_the_poller_makes_none(
    plain, poller, new_topic, produce, admin, kafka_bootstrap
):
    topic = new_topic()
    produce(topic, [{"value": b"g"} for _ in range(3)])
    before = {g.group_id for g in admin.list_consumer_groups().result(10).valid}
    group = f"g-cluster-poller-{uuid.uuid4().hex[:8]}"
    consumer = Consumer(
        {
            "bootstrap.servers": kafka_bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    client_id = f"evtui-test-{uuid.uuid4().hex[:8]}"
    try:
        consumer.subscribe([topic])
        consumed: list[object] = []

        def consume() -> bool:
            msg = consumer.poll(0.2)
            if msg is not None and not msg.error():
                consumed.append(msg)
            return len(consumed) >= 3

        assert wait_for(consume)
        consumer.commit(asynchronous=False)

        config = ClientConfig({**plain.properties, "client.id": client_id})
        p = poller(config, interval=0.5)
        shown = wait_for(lambda: (g := group_in(p.latest(), group)) and g.state == "Stable" and g)
        assert shown == GroupInfo(group, "Stable", 1, shown.group_type)
        assert shown.group_type in {"classic", "consumer"}
        assert p.polls >= 1 and p.latest().problems == ()
    finally:
        consumer.close()
        with contextlib.suppress(Exception):
            admin.delete_consumer_groups([group])[group].result(10)

    listing = admin.list_consumer_groups().result(10).valid
    new = {g.group_id for g in listing} - before - {group}
    assert not [g for g in new if g.startswith("evtui")]
    if listing:
        described = admin.describe_consumer_groups([g.group_id for g in listing])
        for future in described.values():
            with contextlib.suppress(Exception):
                members = future.result(10).members
                assert all(m.client_id != client_id for m in members)


def test_unreachable_bootstrap_cannot_connect_and_stops_promptly(poller):
    p = poller(ClientConfig({"bootstrap.servers": "127.0.0.1:1"}), interval=0.5, timeout=5)
    # never connected: "cannot connect", not "reconnecting"
    assert wait_for(lambda: p.state is ConnectionState.CANNOT_CONNECT, 3)
    assert p.latest() is None
    assert p.last_error.startswith("cannot reach Kafka at 127.0.0.1:1")
    assert "\n" not in p.last_error and "Connection refused" in p.last_error
    assert p.problems() == [p.last_error]
    time.sleep(1.3)  # the retry after 1 s is now waiting for the broker
    started = time.monotonic()
    p.stop()
    assert time.monotonic() - started < 1
    p.stop()  # idempotent


class Forwarder:
    """A TCP port that forwards to the broker once opened (a cluster coming back)."""

    def __init__(self, target: str) -> None:
        host, port = target.rsplit(":", 1)
        self.target = (host, int(port))
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.server: socket.socket | None = None

    def open(self) -> None:
        self.server = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while self.server is not None:
                client, _ = self.server.accept()
                upstream = socket.create_connection(self.target)
                for a, b in ((client, upstream), (upstream, client)):
                    threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        server, self.server = self.server, None
        if server is not None:
            server.close()


def test_a_cluster_that_comes_back_is_connected_again(kafka_bootstrap, poller):
    forwarder = Forwarder(kafka_bootstrap)
    try:
        config = ClientConfig({"bootstrap.servers": f"127.0.0.1:{forwarder.port}"})
        p = poller(config, interval=0.5, timeout=8)
        assert wait_for(lambda: p.state is ConnectionState.CANNOT_CONNECT, 3)
        forwarder.open()
        assert wait_for(lambda: p.state is ConnectionState.CONNECTED, 8)
        assert p.last_error is None and p.latest() is not None
        assert p.latest().cluster_id
    finally:
        forwarder.close()


@pytest.fixture
def sasl(kafka_sasl_bootstrap: str) -> Callable[[str], ClientConfig]:
    def config(password: str) -> ClientConfig:
        return ClientConfig(
            {
                "bootstrap.servers": kafka_sasl_bootstrap,
                "security.protocol": "SASL_PLAINTEXT",
                "sasl.mechanism": "PLAIN",
                "sasl.username": "alice",
                "sasl.password": Secret(password),
            }
        )

    return config


def test_wrong_sasl_password_is_auth_failed_without_echoing_it(sasl, poller):
    password = f"not-alices-password-{uuid.uuid4().hex[:6]}"
    p = poller(sasl(password), interval=0.5, timeout=5)
    assert wait_for(lambda: p.state is ConnectionState.AUTH_FAILED, 5)
    assert p.last_error.startswith("authentication failed at ")
    assert "'alice'" in p.last_error
    time.sleep(1.2)  # a retry, still refused
    problems = p.problems()
    assert problems
    assert p.state is ConnectionState.AUTH_FAILED
    for text in [p.last_error, *problems]:
        assert password not in text
    assert p.latest() is None


def test_right_sasl_password_connects(sasl, poller):
    p = poller(sasl("alice-secret"), interval=0.5)
    assert wait_for(lambda: p.state is ConnectionState.CONNECTED)
    assert p.latest().cluster_id and p.last_error is None
