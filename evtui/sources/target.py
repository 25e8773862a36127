"""The topic a replay writes to: checks, end offsets, what a replay already wrote, the producer.

The only place evtui writes to Kafka, and only when a person asked for a replay.
"""

from __future__ import annotations

import time

import confluent_kafka as ck
from confluent_kafka.admin import AdminClient, NewTopic

from evtui.config import ClientConfig
from evtui.core.replay import Found, read_provenance
from evtui.errors import EvtuiError
from evtui.sources.kafka_client import (
    ErrorCollector,
    client_properties,
    connect_failure,
    is_transient,
    kafka_error_text,
    make_consumer,
)

SAFETY = {  # not to be overridden: what makes a replay exact
    "enable.idempotence": "true",  # acks=all, no duplicates or reordering from retries
    "acks": "all",
}
PRODUCER_SETTINGS = {  # defaults; --target-x may change them
    "message.timeout.ms": "30000",  # a target that does not answer stops the replay in 30 s
    "linger.ms": "20",
    "batch.size": "1000000",
    "queue.buffering.max.messages": "200000",
    "partitioner": "murmur2_random",  # keys land where the Java client would put them
}


DEFAULT_MESSAGE_MAX_BYTES = 1_000_000  # librdkafka's message.max.bytes


class ReplayProducer(ck.Producer):
    """The replay's producer, which says in evtui's words why it refused a record.

    ``produce`` raises ``KafkaException`` for a record the client will not send at all
    (larger than ``message.max.bytes``, a partition the topic does not have, a fatal
    error of the idempotent producer); a full queue stays a ``BufferError`` (wait and
    try again). ``produce`` itself is librdkafka's, untouched: this costs nothing per
    record.
    """

    config: ClientConfig
    max_bytes: int = DEFAULT_MESSAGE_MAX_BYTES

    def refusal(self, exc: BaseException, value: bytes | None) -> EvtuiError | None:
        """What ``exc``, raised by ``produce`` for ``value``, means (None: not a refusal)."""
        if not isinstance(exc, ck.KafkaException):
            return None
        error = exc.args[0] if exc.args else None
        if isinstance(error, ck.KafkaError) and error.code() == ck.KafkaError.MSG_SIZE_TOO_LARGE:
            return EvtuiError(
                f"the record is too large to write ({len(value or b''):,} bytes of value, "
                f"over the producer's message.max.bytes of {self.max_bytes:,}): raise it with "
                "-X message.max.bytes=N (--target-x when the target is another cluster); "
                "the target topic's max.message.bytes must allow it too"
            )
        return EvtuiError(f"the target refused the record: {kafka_error_text(self.config, exc)}")


class Target:
    """A topic on a cluster, checked before anything is written."""

    def __init__(self, config: ClientConfig, topic: str, timeout: float = 10.0) -> None:
        self.config = config
        self.topic = topic
        self.timeout = timeout
        self.errors = ErrorCollector(config)
        self.cluster_id: str | None = None
        self.partitions: int | None = None  # None: the topic does not exist (yet)
        self._consumer: ck.Consumer | None = None

    def open(self) -> Target:
        """Connect and look the topic up (an unknown topic is not an error here)."""
        if self._consumer is None:
            self._consumer = make_consumer(
                self.config, self.errors, {"enable.partition.eof": "true"}
            )
        try:
            metadata = self._consumer.list_topics(timeout=self.timeout)
        except ck.KafkaException as exc:
            self._consumer.poll(0)
            raise connect_failure(self.config, self.errors.drain(), exc, self.timeout) from None
        self._consumer.poll(0)
        errors = self.errors.drain()
        if any(e.code() in (ck.KafkaError.SASL_AUTHENTICATION_FAILED,) for e in errors):
            raise connect_failure(self.config, errors, None, self.timeout)
        self.cluster_id = metadata.cluster_id
        found = metadata.topics.get(self.topic)
        if found is None:  # ACLs hide a topic one may not describe: ask for it by name
            found = self._consumer.list_topics(self.topic, timeout=self.timeout).topics.get(
                self.topic
            )
        if found is not None and found.error is not None:
            if found.error.code() == ck.KafkaError.TOPIC_AUTHORIZATION_FAILED:
                raise EvtuiError(
                    f"not authorized to describe target topic '{self.topic}' on "
                    f"{self.config.bootstrap} (or it does not exist: the broker does not tell)"
                )
            if found.error.code() != ck.KafkaError.UNKNOWN_TOPIC_OR_PART:
                raise EvtuiError(
                    f"target topic '{self.topic}': {kafka_error_text(self.config, found.error)}"
                )
            found = None
        self.partitions = None if found is None else len(found.partitions)
        if found is not None:
            self._check_writable()
        return self

    def _check_writable(self) -> None:
        """Fail before anything is written when the ACLs do not let us write the topic.

        Asks the broker which operations it allows on the topic (Kafka 2.3+); a broker
        or client that cannot tell leaves the question to the first write."""
        from confluent_kafka import TopicCollection

        admin = AdminClient(client_properties(self.config, self.errors))
        try:
            future = admin.describe_topics(
                TopicCollection([self.topic]),
                include_authorized_operations=True,
                request_timeout=self.timeout,
            )[self.topic]
            allowed = future.result(timeout=self.timeout).authorized_operations
        except (ck.KafkaException, TypeError, ValueError, TimeoutError):
            return
        if allowed is None:
            return
        names = {getattr(op, "name", str(op)) for op in allowed}
        if "WRITE" not in names and "ALL" not in names:
            raise EvtuiError(
                f"not authorized to write to target topic '{self.topic}' on "
                f"{self.config.bootstrap}: nothing was written"
            )

    def create(self, partitions: int) -> None:
        """Create the topic (``--create-topic``): the source's partition count."""
        admin = AdminClient(client_properties(self.config, self.errors))
        replication = -1  # the broker's default.replication.factor
        futures = admin.create_topics([NewTopic(self.topic, partitions, replication)])
        try:
            futures[self.topic].result(timeout=self.timeout)
        except ck.KafkaException as exc:
            if exc.args[0].code() != ck.KafkaError.TOPIC_ALREADY_EXISTS:
                raise EvtuiError(
                    f"cannot create target topic '{self.topic}': "
                    f"{kafka_error_text(self.config, exc)}"
                ) from None
        self._wait_for_partitions(partitions)

    def _wait_for_partitions(self, partitions: int) -> None:
        assert self._consumer is not None
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            topic = self._consumer.list_topics(self.topic, timeout=self.timeout).topics[self.topic]
            leaders = [p.leader for p in topic.partitions.values()]
            if topic.error is None and len(leaders) == partitions and min(leaders) >= 0:
                self.partitions = partitions
                return
            time.sleep(0.1)
        raise EvtuiError(f"target topic '{self.topic}' was created but has no leaders yet")

    def end_offsets(self) -> dict[int, int]:
        """Each partition's end (high watermark) now (a leader being elected is waited for)."""
        assert self._consumer is not None and self.partitions is not None
        return {p: self._end(p) for p in range(self.partitions)}

    def _end(self, partition: int) -> int:
        assert self._consumer is not None
        tp = ck.TopicPartition(self.topic, partition)
        deadline, backoff = time.monotonic() + self.timeout, 0.05
        while True:
            try:
                return self._consumer.get_watermark_offsets(tp, timeout=self.timeout)[1]
            except ck.KafkaException as exc:
                if not is_transient(exc.args[0]) or time.monotonic() + backoff > deadline:
                    raise EvtuiError(
                        f"cannot read the end of {self.topic}[{partition}]: "
                        f"{kafka_error_text(self.config, exc)}"
                    ) from None
            time.sleep(backoff)
            backoff = min(backoff * 2, 1.0)

    def find_written(self, replay_id: str, since: dict[int, int], source: str) -> tuple[Found, int]:
        """Records of replay ``replay_id`` from ``since`` to the end: where each came from.

        Returns ((source partition, offset) -> (target partition, offset)) for
        records copied from ``source`` (a topic or a file's topic), and how many
        target records were read to find them.
        """
        assert self._consumer is not None
        ends = self.end_offsets()
        wanted = {p: since.get(p, 0) for p, end in ends.items() if since.get(p, 0) < end}
        found: Found = {}
        if not wanted:
            return found, 0
        self._consumer.assign([ck.TopicPartition(self.topic, p, o) for p, o in wanted.items()])
        left, read = dict(wanted), 0
        deadline = time.monotonic() + max(self.timeout, 30.0)
        while left and time.monotonic() < deadline:
            for m in self._consumer.consume(10_000, 0.5):
                partition, offset = m.partition(), m.offset()
                if m.error() is not None:
                    if m.error().code() == ck.KafkaError._PARTITION_EOF:
                        left.pop(partition, None)
                    continue
                read += 1
                if offset >= ends[partition] - 1:
                    left.pop(partition, None)
                origin = read_provenance(m.headers() or ())
                if origin is not None and origin[0] == replay_id and origin[1] == source:
                    found[(origin[2], origin[3])] = (partition, offset)
        self._consumer.unassign()
        if left:
            raise EvtuiError(
                f"could not read back what replay {replay_id} wrote to {self.topic} "
                f"(partitions {sorted(left)}): nothing was written; try again"
            )
        return found, read

    def producer(self) -> ck.Producer:
        props = {**PRODUCER_SETTINGS, **client_properties(self.config, self.errors), **SAFETY}
        props["client.id"] = "evtui-replay"
        try:
            producer = ReplayProducer(props)
        except (ck.KafkaException, ValueError, TypeError) as exc:
            text = kafka_error_text(self.config, exc)
            raise EvtuiError(f"invalid producer setting: {text}") from None
        producer.config = self.config
        producer.max_bytes = int(props.get("message.max.bytes", DEFAULT_MESSAGE_MAX_BYTES))
        return producer

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None
