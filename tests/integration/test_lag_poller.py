"""The lag poller on the real broker: real groups commit known offsets; evtui reads them exactly.

Records are produced at a steady rate while the poller samples, so the offset/time
table it builds is the truth's own clock; time lag is checked against the age of
the record at the committed offset (within 10%).
"""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from evtui.config import ClientConfig
from evtui.core.lag import Status

pytestmark = pytest.mark.kafka


def _admin(bootstrap: str):
    from confluent_kafka.admin import AdminClient

    return AdminClient({"bootstrap.servers": bootstrap})


def _groups(bootstrap: str, prefix: str) -> dict[str, dict]:
    """Every group named ``prefix...`` with its committed offsets (to compare before/after)."""
    from confluent_kafka import ConsumerGroupTopicPartitions

    admin = _admin(bootstrap)
    listed = admin.list_consumer_groups(request_timeout=10).result()
    names = sorted(g.group_id for g in listed.valid if g.group_id.startswith(prefix))
    out = {}
    for name in names:
        request = [ConsumerGroupTopicPartitions(name)]
        found = admin.list_consumer_group_offsets(request)[name].result()
        out[name] = {(tp.topic, tp.partition): tp.offset for tp in found.topic_partitions}
    return out


def _commit(bootstrap: str, group: str, topic: str, offsets: dict[int, int]) -> None:
    """A real member of ``group`` commits these offsets and leaves."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False}
    )
    try:
        consumer.commit(
            offsets=[TopicPartition(topic, p, o) for p, o in offsets.items()], asynchronous=False
        )
    finally:
        consumer.close()


class Producer:
    """Produces ``rate`` records/s to both partitions until stopped; remembers each time."""

    def __init__(self, bootstrap: str, topic: str, rate: int) -> None:
        from confluent_kafka import Producer as KafkaProducer

        self.topic = topic
        self.rate = rate
        self.producer = KafkaProducer({"bootstrap.servers": bootstrap, "linger.ms": 0})
        self.sent: dict[tuple[int, int], int] = {}  # (partition, offset) -> CreateTime ms
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _done(self, err, msg) -> None:
        if err is None:
            self.sent[(msg.partition(), msg.offset())] = msg.timestamp()[1]

    def _run(self) -> None:
        i = 0
        while not self._stop.is_set():
            for p in (0, 1):
                self.producer.produce(
                    self.topic, f"v{i}".encode(), partition=p, on_delivery=self._done
                )
            self.producer.poll(0)
            i += 1
            time.sleep(1 / self.rate)
        self.producer.flush(10)

    def __enter__(self) -> Producer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=15)

    def end(self, partition: int) -> int:
        return max((o for p, o in self.sent if p == partition), default=-1) + 1


def test_lag_offsets_time_and_health_on_real_groups(kafka_bootstrap):
    from confluent_kafka.admin import NewTopic

    from evtui.sources.lag import LagPoller

    prefix = f"lagt-{uuid.uuid4().hex[:6]}"
    topic = f"{prefix}-events"
    admin = _admin(kafka_bootstrap)
    admin.create_topics([NewTopic(topic, 2, 1)])[topic].result(timeout=30)
    config = ClientConfig({"bootstrap.servers": kafka_bootstrap})
    poller = LagPoller(config, groups=f"^{prefix}", interval=0.5, timeout=10, window_s=6)
    stalled, stopped = f"{prefix}-stalled", f"{prefix}-stopped"
    with Producer(kafka_bootstrap, topic, rate=50) as producer:
        time.sleep(1)
        _commit(kafka_bootstrap, stopped, topic, {0: 10, 1: 20})
        before = _groups(kafka_bootstrap, prefix)
        poller.start()
        try:
            time.sleep(3)  # the poller's offset/time table now covers the last 3 s
            held = {p: producer.end(p) - 25 for p in (0, 1)}  # produced about 0.5 s ago
            # a consumer that assigns partitions itself (no member: the group is Empty)
            # commits the same offsets, again and again: alive, stalled, never stopped
            committing = threading.Event()

            def commit_again() -> None:
                while not committing.wait(0.5):
                    _commit(kafka_bootstrap, stalled, topic, held)

            committer = threading.Thread(target=commit_again, daemon=True)
            committer.start()
            time.sleep(10)
            report = poller.latest()
        finally:
            poller.stop()
        once = LagPoller(config, groups=f"^{prefix}", timeout=10, window_s=6)
        try:  # one poll, as `evtui lag` does: the window's past comes from commit records
            first = once.poll_now()
        finally:
            once.stop()
            committing.set()
            committer.join(timeout=30)
    assert report is not None
    after = _groups(kafka_bootstrap, prefix)
    assert set(after) == {stalled, stopped}
    assert after[stopped] == before[stopped]  # evtui changed nothing
    assert after[stalled] == {(topic, p): o for p, o in held.items()}

    by_name = {g.group: g for g in report.groups}
    assert set(by_name) == {stalled, stopped}  # only the matching groups, none of evtui's own
    for name, committed in ((stopped, {0: 10, 1: 20}), (stalled, held)):
        group = by_name[name]
        parts = {p.partition: p for p in group.partitions}
        assert {p: parts[p].committed for p in parts} == committed
        for p, part in parts.items():
            assert part.lag == part.end - committed[p] > 0
            assert part.end <= producer.end(p)
        assert group.lag == sum(p.lag for p in group.partitions)
    assert by_name[stopped].status is Status.STOPPED
    assert by_name[stalled].status is Status.STALLED
    at_once = {g.group: g.status for g in first.groups}
    assert at_once == {stopped: Status.STOPPED, stalled: Status.STALLED}
    for part in by_name[stalled].partitions:  # time lag within 10% of the record's age
        truth = (report.taken_ms - producer.sent[(part.partition, part.committed)]) / 1000
        assert part.time_lag_s is not None and part.time_lag_kind == "estimated"
        assert abs(part.time_lag_s - truth) <= 0.1 * truth, (part.time_lag_s, truth)


def test_an_offset_reader_that_died_between_polls_is_started_again(kafka_bootstrap, new_topic):
    """The committed offsets are read by a worker process (librdkafka may crash it): one
    killed between polls is replaced and the next poll reads the group as before."""
    import os
    import signal

    from evtui.sources.lag import LagPoller

    topic = new_topic(partitions=1)
    group = f"crash-{uuid.uuid4().hex[:8]}"
    _commit(kafka_bootstrap, group, topic, {0: 1})
    config = ClientConfig({"bootstrap.servers": kafka_bootstrap})
    poller = LagPoller(config, groups=f"^{group}$", timeout=10, commits=False)
    try:

        def committed() -> dict:
            report = poller.poll_now()
            found = next(g for g in report.groups if g.group == group)
            assert found.problem is None
            return {(p.topic, p.partition): p.committed for p in found.partitions}

        assert committed() == {(topic, 0): 1}
        worker = poller._reader._proc
        assert worker is not None
        os.kill(worker.pid, signal.SIGSEGV)
        worker.wait(30)
        assert committed() == {(topic, 0): 1}
        assert poller._reader._proc is not None and poller._reader._proc.pid != worker.pid
    finally:
        poller.stop()
