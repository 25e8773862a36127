"""Run the simulated shop on a real cluster: topics, traffic and consumer groups.

The only part of evtui that writes to a cluster besides replay, and only when
the user runs ``evtui demo`` against one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import confluent_kafka as ck
from confluent_kafka.admin import AdminClient, NewTopic

from evtui.config import ClientConfig
from evtui.core.positions import now_ms
from evtui.errors import EvtuiError
from evtui.sim.model import GroupSpec
from evtui.sim.shop import ShopSimulator
from evtui.sources.kafka_client import (
    ErrorCollector,
    client_properties,
    connect_failure,
    kafka_error_text,
)

SLOW_WAVE_S = 10.0  # the slow group alternates slow and catching-up phases this long


@dataclass
class LoadStats:
    produced: int = 0
    failed: int = 0
    consumed: dict[str, int] = field(default_factory=dict)
    stopped_groups: list[str] = field(default_factory=list)
    commit_failures: int = 0
    group_errors: dict[str, str] = field(default_factory=dict)  # group -> why it ended


def _props(config: ClientConfig, errors: ErrorCollector) -> dict:
    props = client_properties(config, errors)  # scrubbing logger, error callback
    props["client.id"] = config.properties.get("client.id", "evtui-demo")
    return props


class DemoLoad:
    """Creates the topics, produces the simulator's records and runs its groups."""

    def __init__(
        self,
        config: ClientConfig,
        sim: ShopSimulator,
        *,
        partitions: int = 3,
        timeout: float = 10.0,
        stop_group_after_s: float | None = None,
        group_prefix: str = "",
    ) -> None:
        self.config = config
        self.sim = sim
        self.group_prefix = group_prefix
        self.partitions = partitions
        self.timeout = timeout
        self.stop_group_after_s = stop_group_after_s
        self.stats = LoadStats()
        self._errors = ErrorCollector(config)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # -- topics -------------------------------------------------------------------------------

    def ensure_topics(self) -> list[str]:
        """Create missing topics; refuse ones that exist with another partition count."""
        admin = AdminClient(_props(self.config, self._errors))
        try:
            metadata = admin.list_topics(timeout=self.timeout)
        except ck.KafkaException as exc:
            admin.poll(0)
            raise connect_failure(self.config, self._errors.drain(), exc, self.timeout) from None
        wanted = self.sim.topics.all()
        for name in wanted:
            topic = metadata.topics.get(name)
            if topic is not None and len(topic.partitions) != self.partitions:
                raise EvtuiError(
                    f"topic '{name}' exists with {len(topic.partitions)} partition(s), the demo "
                    f"uses {self.partitions}: pass --partitions {len(topic.partitions)} or "
                    "other topic names (--topic-prefix)"
                )
        missing = [n for n in wanted if n not in metadata.topics]
        if missing:
            futures = admin.create_topics(
                [NewTopic(n, self.partitions, 1) for n in missing], operation_timeout=self.timeout
            )
            for name, future in futures.items():
                try:
                    future.result(timeout=self.timeout + 5)
                except ck.KafkaException as exc:
                    if exc.args[0].code() != ck.KafkaError.TOPIC_ALREADY_EXISTS:
                        raise EvtuiError(
                            f"cannot create topic '{name}': {kafka_error_text(self.config, exc)}"
                        ) from None
            self._wait_for_leaders(admin, missing)
        return missing

    def _wait_for_leaders(self, admin: AdminClient, topics: list[str]) -> None:
        """New topics are usable once every partition has a leader."""
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            metadata = admin.list_topics(timeout=self.timeout)
            ready = all(
                name in metadata.topics
                and metadata.topics[name].error is None
                and len(metadata.topics[name].partitions) == self.partitions
                and all(p.leader >= 0 for p in metadata.topics[name].partitions.values())
                for name in topics
            )
            if ready:
                return
            time.sleep(0.1)
        raise EvtuiError(
            f"the new topics have no leader after {self.timeout:g}s: {', '.join(topics)}"
        )

    # -- consumer groups ----------------------------------------------------------------------

    def start_groups(self) -> None:
        for spec in self.sim.groups:
            thread = threading.Thread(
                target=self._run_group, args=(spec,), name=f"demo-{spec.name}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def _run_group(self, spec: GroupSpec) -> None:
        props = _props(self.config, ErrorCollector(self.config))
        props.update(
            {
                "group.id": self.group_prefix + spec.name,
                "auto.offset.reset": "earliest",
                "enable.auto.commit": "false",
            }
        )
        consumer = ck.Consumer(props)
        consumer.subscribe(list(spec.topics))
        started = time.monotonic()
        self.stats.consumed[spec.name] = 0
        try:
            while not self._stop.is_set():
                if (
                    spec.stoppable
                    and self.stop_group_after_s is not None
                    and time.monotonic() - started >= self.stop_group_after_s
                ):
                    self.stats.stopped_groups.append(spec.name)
                    return
                messages = [m for m in consumer.consume(200, 0.2) if m.error() is None]
                if not messages:
                    continue
                if not self._process(spec, len(messages), started):
                    break  # stopped while working on the batch: it is not done, not committed
                self.stats.consumed[spec.name] += len(messages)
                try:
                    consumer.commit(asynchronous=False)
                except ck.KafkaException:  # e.g. a rebalance: the next batch commits again
                    self.stats.commit_failures += 1
        except ck.KafkaException as exc:
            self.stats.group_errors[spec.name] = kafka_error_text(self.config, exc)
        finally:
            consumer.close()

    def _process(self, spec: GroupSpec, count: int, started: float) -> bool:
        """Simulated work: the slow group is slow in waves, so its lag grows then recovers.
        False when the load was stopped before the work was done."""
        if not spec.slow:
            return True
        phase = int((time.monotonic() - started) / SLOW_WAVE_S) % 2
        if phase == 0:
            return not self._stop.wait(count * spec.per_record_ms / 1000)
        return True

    # -- traffic ------------------------------------------------------------------------------

    def produce(
        self, duration_s: float | None, on_record: Callable[[int], None] | None = None
    ) -> None:
        """Produce in real time until ``duration_s`` (None: until stop()).

        Each record's timestamp is its time on the simulated timeline, which starts now:
        an effect the simulator puts before its cause stays before it even when the
        producer falls behind and sends both in one millisecond.
        """
        props = _props(self.config, self._errors)
        props.update({"enable.idempotence": "true", "acks": "all", "linger.ms": "5"})
        producer = ck.Producer(props)
        t0 = time.monotonic()
        self.sim.start_ms = now_ms()
        limit_ms = None if duration_s is None else int(duration_s * 1000)

        def delivered(err: ck.KafkaError | None, _msg: ck.Message) -> None:
            if err is None:
                self.stats.produced += 1
            else:
                self.stats.failed += 1

        try:
            for record in self.sim.records(until_ms=limit_ms):
                if self._stop.is_set():
                    break
                delay = t0 + record.at_ms / 1000 - time.monotonic()
                if delay > 0 and self._stop.wait(delay):
                    break
                producer.produce(
                    record.topic,
                    record.value,
                    record.key,
                    headers=list(record.headers),
                    timestamp=self.sim.start_ms + record.at_ms,
                    on_delivery=delivered,
                )
                producer.poll(0)
                if on_record is not None:
                    on_record(self.sim.truth.emitted)
        finally:
            remaining = producer.flush(30)
            self.stats.failed += remaining
        if self.stats.failed:
            errors = self._errors.drain()
            detail = kafka_error_text(self.config, errors[-1]) if errors else "delivery failed"
            raise EvtuiError(f"{self.stats.failed} demo record(s) were not delivered: {detail}")

    def interrupt(self) -> None:
        """Ask the producing and the groups to stop (safe in a signal handler)."""
        self._stop.set()

    def stop(self, grace_s: float = 15.0) -> None:
        """Stop the groups; they close their consumers within ``grace_s`` in all, or are
        left behind (daemon threads: a close stuck in a rebalance never holds the exit)."""
        self._stop.set()
        deadline = time.monotonic() + grace_s
        for thread in self._threads:
            thread.join(timeout=max(deadline - time.monotonic(), 0.0))
