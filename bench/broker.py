"""The benches' broker: the local harness, topics made and removed, end offsets watched.

Without --bootstrap-servers a bench starts the broker with scripts/kafka-local
(``start_broker`` says whether it was already running, so that the bench stops it again
only if it started it). The offsets clients are plain consumers that join no group.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HARNESS = ROOT / "scripts" / "kafka-local"


def start_broker() -> tuple[str, bool]:
    was_running = subprocess.run([HARNESS, "status"], capture_output=True).returncode == 0
    out = subprocess.run([HARNESS, "start"], capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1], not was_running


def create_topic(bootstrap: str, topic: str, partitions: int) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, partitions, 1)])[topic].result(timeout=30)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # metadata may lag the creation a little
        meta = admin.list_topics(topic, timeout=5).topics.get(topic)
        if meta is not None and meta.error is None and len(meta.partitions) == partitions:
            return
        time.sleep(0.2)
    raise SystemExit(f"bench/ui: topic {topic} did not become ready")


def delete_topic(bootstrap: str, topic: str) -> None:
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.delete_topics([topic])
    try:
        futures[topic].result(timeout=30)
    except Exception as exc:
        print(f"bench/ui: warning: could not delete {topic}: {exc}", file=sys.stderr)


class Offsets:
    """Sum of a topic's end offsets, from its own consumer (no group joined)."""

    def __init__(self, bootstrap: str, topic: str, partitions: int) -> None:
        from confluent_kafka import Consumer, TopicPartition

        self.consumer = Consumer(
            {"bootstrap.servers": bootstrap, "group.id": f"evtui-bench-ui-{uuid.uuid4().hex[:8]}"}
        )
        self.tps = [TopicPartition(topic, p) for p in range(partitions)]
        self.lock = threading.Lock()

    def total(self) -> int:
        with self.lock:
            return sum(
                self.consumer.get_watermark_offsets(tp, timeout=5, cached=False)[1]
                for tp in self.tps
            )

    def close(self) -> None:
        with self.lock:
            self.consumer.close()


class EndOffsets:
    """End offsets of every partition of the run's topics (one consumer, no group joined)."""

    def __init__(self, bootstrap: str, topics: list[str], partitions: int) -> None:
        from confluent_kafka import Consumer, TopicPartition

        self.consumer = Consumer(
            {"bootstrap.servers": bootstrap, "group.id": f"evtui-bench-soak-{uuid.uuid4().hex[:8]}"}
        )
        self.tps = [TopicPartition(t, p) for t in topics for p in range(partitions)]
        self.lock = threading.Lock()

    def ends(self) -> dict[tuple[str, int], int]:
        with self.lock:
            return {
                (tp.topic, tp.partition): self.consumer.get_watermark_offsets(
                    tp, timeout=10, cached=False
                )[1]
                for tp in self.tps
            }

    def close(self) -> None:
        with self.lock:
            self.consumer.close()
