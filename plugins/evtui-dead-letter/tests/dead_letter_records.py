"""Real-world-shaped records with the truth about each (pure: no broker)."""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass

from evtui.core.event import Event, TimestampType

BASE_TS = 1_764_900_000_000


@dataclass(frozen=True)
class Truth:
    dead: bool  # a dead_letter finding is due at this record
    original: str | None = None  # the original's ref, when the headers name it
    unreadable: bool = False


def event(topic, partition, offset, headers=(), key=b"k", value=b"{}", ts=None):
    return Event(
        topic, partition, offset, BASE_TS + offset if ts is None else ts,
        TimestampType.CREATE_TIME, key, value, tuple(headers),
    )  # fmt: skip


def spring(topic, partition, offset, orig, exc, message, group="orders-service"):
    """What DeadLetterPublishingRecoverer writes (KafkaHeaders.DLT_*)."""
    otopic, opart, ooff = orig
    return [
        ("kafka_dlt-exception-fqcn", exc.encode()),
        ("kafka_dlt-exception-cause-fqcn", b"java.lang.IllegalStateException"),
        ("kafka_dlt-exception-message", message.encode()),
        (
            "kafka_dlt-exception-stacktrace",
            ("at com.acme.Listener.on(Listener.java:42)\n" * 400).encode(),
        ),
        ("kafka_dlt-original-topic", otopic.encode()),
        ("kafka_dlt-original-partition", struct.pack(">i", opart)),
        ("kafka_dlt-original-offset", struct.pack(">q", ooff)),
        ("kafka_dlt-original-timestamp", struct.pack(">q", BASE_TS + ooff)),
        ("kafka_dlt-original-timestamp-type", b"CreateTime"),
        ("kafka_dlt-original-consumer-group", group.encode()),
    ]


def connect(orig, exc, message, connector="jdbc-sink-orders"):
    """What a sink connector's DeadLetterQueueReporter writes with context headers on."""
    otopic, opart, ooff = orig
    return [
        ("__connect.errors.topic", otopic.encode()),
        ("__connect.errors.partition", str(opart).encode()),
        ("__connect.errors.offset", str(ooff).encode()),
        ("__connect.errors.connector.name", connector.encode()),
        ("__connect.errors.task.id", b"0"),
        ("__connect.errors.stage", b"VALUE_CONVERTER"),
        ("__connect.errors.class.name", b"org.apache.kafka.connect.json.JsonConverter"),
        ("__connect.errors.exception.class.name", exc.encode()),
        ("__connect.errors.exception.message", message.encode()),
        ("__connect.errors.exception.stacktrace", b"org.apache...\n" * 500),
    ]


def ordinary_headers(rng: random.Random):
    """Headers ordinary records carry, some of them named like DLQ words."""
    choice = [
        ("kafka_correlationId", rng.randbytes(16)),
        ("traceparent", b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
        ("original-topic", b"orders"),  # not a convention read here
        ("source_topic", b"orders"),  # lineage of a stream processor (Karafka's name)
        ("source_partition", b"3"),
        ("source_offset", b"77"),
        ("__TypeId__", b"com.acme.OrderPlaced"),
        ("content-type", b"application/json"),
        ("x-retry-count", b"2"),
        ("kafka_dlt", b"not a dlt header"),
    ]
    return rng.sample(choice, rng.randint(0, len(choice)))


def stream(seed: int = 7, n: int = 400):
    """Orders flowing, some dead-lettered by Spring and by Connect; (events, truths)."""
    rng = random.Random(seed)
    events, truths = [], []
    offsets: dict[tuple[str, int], int] = {}

    def put(topic, partition, headers, truth, key=b"k"):
        off = offsets.get((topic, partition), 0)
        offsets[(topic, partition)] = off + 1
        events.append(event(topic, partition, off, headers, key=key))
        truths.append(truth)
        return off

    for i in range(n):
        part = rng.randrange(3)
        key = None if rng.random() < 0.2 else f"order-{i}".encode()
        off = put("orders", part, ordinary_headers(rng), Truth(False), key=key)
        roll = rng.random()
        if roll < 0.08:
            put(
                "orders.DLT", part,
                spring("orders.DLT", part, off, ("orders", part, off),
                       "org.springframework.kafka.listener.ListenerExecutionFailedException",
                       "Listener method failed; nested exception is " + "x" * 5000),
                Truth(True, f"orders/{part}/{off}"), key=key,
            )  # fmt: skip
        elif roll < 0.14:
            put(
                "dlq-jdbc-sink", 0,
                connect(("orders", part, off), "org.apache.kafka.connect.errors.DataException",
                        "Converting byte[] to Kafka Connect data failed: serialization error"),
                Truth(True, f"orders/{part}/{off}"), key=key,
            )  # fmt: skip
        elif roll < 0.17:  # a Spring retry topic: same headers, not a dead letter yet
            put(
                "orders-retry-1000", part,
                spring("orders-retry-1000", part, off, ("orders", part, off),
                       "java.lang.RuntimeException", "try again"),
                Truth(False), key=key,
            )  # fmt: skip
    return events, truths
