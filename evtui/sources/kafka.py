"""Read topics from Kafka into Events, by direct partition assignment.

One consumer thread polls in batches and hands them over through a bounded
queue. No consumer group is joined and nothing is committed.

The source is this module; what it leans on is next to it: which topics a read
names (:mod:`~evtui.sources.kafka_topics`), where each partition's range starts
and stops (:mod:`~evtui.sources.kafka_plan`), how far a bounded read got
(:mod:`~evtui.sources.kafka_bounds`), and the client's settings and error texts
(:mod:`~evtui.sources.kafka_client`).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Sequence

import confluent_kafka as ck

from evtui.config import ClientConfig
from evtui.core.decode import prepare_events
from evtui.core.event import Event, problem_sink, problems_reported_to, report_problem
from evtui.core.positions import END, Position
from evtui.errors import EvtuiError, UsageError
from evtui.sources.base import Batch, BatchQueue, Problem, SourceState, SourceStats, ends_of
from evtui.sources.kafka_bounds import ReadBounds
from evtui.sources.kafka_client import (
    ErrorCollector,
    client_properties,
    connect_failure,
    is_auth_error,
    is_connect_error,
    kafka_error_text,
    make_consumer,
)
from evtui.sources.kafka_plan import TP as TP
from evtui.sources.kafka_plan import OffsetLister
from evtui.sources.kafka_plan import PartitionPlan as PartitionPlan
from evtui.sources.kafka_topics import HIDDEN, suggest
from evtui.sources.kafka_topics import is_pattern as is_pattern
from evtui.sources.kafka_topics import match_topics as match_topics

_EOF = ck.KafkaError._PARTITION_EOF
PROBE_INTERVAL = 1.0  # while reconnecting: seconds between metadata probes
PROBE_TIMEOUT = 0.5  # how long one probe may block the consumer thread
_GONE = {
    ck.KafkaError.UNKNOWN_TOPIC_OR_PART,
    ck.KafkaError._UNKNOWN_TOPIC,
    ck.KafkaError._UNKNOWN_PARTITION,
}


def _heard_from_broker(messages: list[ck.Message]) -> bool:
    """True when a batch holds a record or a partition end: the cluster answered."""
    for m in messages:
        err = m.error()
        if err is None or err.code() == _EOF:
            return True
    return False


def _compacts(config: dict) -> bool:
    policy = config.get("cleanup.policy")
    return policy is not None and "compact" in (policy.value or "")


class KafkaSource:
    """Events from one or many topics, from a start position to an optional bound."""

    def __init__(
        self,
        config: ClientConfig,
        topics: Sequence[str],
        start: Position = END,
        until: Position | None = None,
        *,
        timeout: float = 10.0,
        batch_size: int = 5000,
        max_queued_batches: int = 16,
        refresh_interval: float = 5.0,
        include_internal: bool = False,
        plans: Sequence[PartitionPlan] | None = None,
    ) -> None:
        if not topics:
            raise UsageError("no topic given")
        self.config = config
        self.requested = list(topics)
        self.start_position = start
        self.until = until
        self.timeout = timeout
        self.batch_size = batch_size
        self.refresh_interval = refresh_interval
        self.include_internal = include_internal
        self.state = SourceState.CONNECTING
        self.stats = SourceStats()
        self.plans: dict[TP, PartitionPlan] = {}
        self.topics: list[str] = []
        self._errors = ErrorCollector(config)
        self._consumer: ck.Consumer | None = None
        self._queue = BatchQueue(max_queued_batches)
        self._stop = threading.Event()
        self._stop_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._problems: list[Problem] = []
        self._problems_lock = threading.Lock()
        self._bounds = ReadBounds(self._partition_done)  # a bounded read's progress
        self._reported: set[str] = set()
        self._given_plans = None if plans is None else list(plans)
        self._ends: list[TP] = []  # partitions read to their end since the last batch
        self.compacted: frozenset[str] = frozenset()  # set by whoever asked compacted_topics()
        self.skipped_topics: list[str] = []  # named topics not read: not authorized

    # -- set-up (caller's thread) -----------------------------------------------------------

    def open(self) -> KafkaSource:
        """Connect, resolve topics and positions, and assign partitions.

        Raises :class:`EvtuiError` with a readable message on any problem, after
        closing the client it made.
        """
        try:
            return self._connect()
        except BaseException:
            self.stop()
            raise

    def _connect(self) -> KafkaSource:
        self._consumer = make_consumer(self.config, self._errors, {"enable.partition.eof": "true"})
        metadata = self._metadata()
        if self._given_plans is not None:  # a share of a range another source planned
            self.topics = sorted({plan.topic for plan in self._given_plans})
            self.plans = {(plan.topic, plan.partition): plan for plan in self._given_plans}
            self._assign(self.plans.values())
            self.state = SourceState.CONNECTED
            return self
        topics, missing = match_topics(
            self.requested, metadata.topics, include_internal=self.include_internal
        )
        denied = self._denied(missing)
        unknown = [name for name in missing if name not in denied]
        if unknown:
            name = unknown[0]
            raise EvtuiError(
                f"unknown topic '{name}' on {self.config.bootstrap}{suggest(name, metadata.topics)}"
            )
        if denied and not topics and not any(is_pattern(n) for n in self.requested):
            raise EvtuiError(
                f"not authorized to read topic '{denied[0]}' on {self.config.bootstrap}{HIDDEN}"
            )
        for name in denied:  # the others are read; the caller tells (tail exits 1 at the end)
            self._report(
                "warning",
                f"not authorized to read topic '{name}' on {self.config.bootstrap}{HIDDEN}; "
                "reading the other topics",
                once=f"denied:{name}",
            )
        self.skipped_topics = denied
        self._check_topic_errors(metadata, topics)
        if not topics and self.until is not None:
            raise EvtuiError(
                f"no topic on {self.config.bootstrap} matches {', '.join(self.requested)}"
            )
        if not topics:
            self._report(
                "warning",
                f"no topic matches {', '.join(self.requested)} yet; waiting for one to appear",
            )
        self.topics = topics
        tps = [(t, p) for t in topics for p in sorted(metadata.topics[t].partitions)]
        self.plans = self._plan(tps)
        self._assign(self.plans.values())
        self.state = SourceState.CONNECTED
        return self

    def _metadata(self) -> ck.admin.ClusterMetadata:
        assert self._consumer is not None
        try:
            metadata = self._consumer.list_topics(timeout=self.timeout)
        except ck.KafkaException as exc:
            self._consumer.poll(0)  # serve the error callbacks
            self.state = SourceState.FAILED
            raise connect_failure(self.config, self._errors.drain(), exc, self.timeout) from None
        self._consumer.poll(0)
        errors = self._errors.drain()
        if any(is_auth_error(e) for e in errors):
            raise connect_failure(self.config, errors, None, self.timeout)
        return metadata

    def _denied(self, names: list[str]) -> list[str]:
        """Of named topics missing from the cluster's topic list, those the broker says
        we may not see (ACLs hide such topics from the list; asked by name, the broker
        says "not authorized", whether the topic exists or not)."""
        assert self._consumer is not None
        denied = []
        for name in names:
            try:
                found = self._consumer.list_topics(topic=name, timeout=self.timeout)
            except ck.KafkaException:
                continue
            meta = found.topics.get(name)
            err = meta.error if meta is not None else None
            if err is not None and err.code() == ck.KafkaError.TOPIC_AUTHORIZATION_FAILED:
                denied.append(name)
        return denied

    def _check_topic_errors(self, metadata: ck.admin.ClusterMetadata, topics: list[str]) -> None:
        for topic in topics:
            err = metadata.topics[topic].error
            if err is None:
                continue
            if err.code() == ck.KafkaError.TOPIC_AUTHORIZATION_FAILED:
                raise EvtuiError(f"not authorized to read topic '{topic}'")
            raise EvtuiError(f"topic '{topic}': {kafka_error_text(self.config, err)}")

    def _plan(self, tps: list[TP]) -> dict[TP, PartitionPlan]:
        assert self._consumer is not None
        lister = OffsetLister(self._consumer, self.config, self.timeout)
        return lister.plan(tps, self.start_position, self.until)

    def _assign(self, plans: Iterable[PartitionPlan]) -> None:
        assert self._consumer is not None
        assignment = []
        for plan in plans:
            self.stats.partitions += 1
            if plan.empty:
                self.stats.partitions_done += 1
                continue
            if plan.bounded:
                self._bounds.add(plan)
            assignment.append(ck.TopicPartition(plan.topic, plan.partition, plan.start))
        if assignment:
            self._consumer.incremental_assign(assignment)

    # -- the consumer thread -----------------------------------------------------------------

    def start(self) -> None:
        """Read in a thread of its own. Started within a scan's ``problems_reported_to``,
        the records' problems found while reading (headers lost) go to that scan's sink."""
        if self._consumer is None:
            self.open()
        sink = problem_sink()

        def run() -> None:
            if sink is None:
                self._run()
                return
            with problems_reported_to(sink):
                self._run()

        self._thread = threading.Thread(target=run, name="evtui-kafka-source", daemon=True)
        self._thread.start()

    @property
    def bounded(self) -> bool:
        return self.until is not None

    def _finished(self) -> bool:
        return self.bounded and self._bounds.open == 0

    def _want(self) -> int:
        """Records to ask for (fewer than a batch near a bounded read's end)."""
        return self._bounds.want(self.batch_size) if self.bounded else self.batch_size

    def read_inline(self, deliver: Callable[[list[Event]], bool]) -> None:
        """Read in the calling thread, handing each batch to ``deliver`` until it returns False.

        For a scan that does all its work on the events (``evtui trace``): one
        busy thread instead of two passing the GIL back and forth. Problems are
        reported as usual (:meth:`problems`); ``stop`` closes the client. An
        exception from ``deliver`` is raised here as it is: it is the caller's,
        not a failure to read from Kafka.
        """
        if self._consumer is None:
            self.open()
        raised: list[Exception] = []

        def guarded(events: list[Event]) -> bool:
            try:
                return deliver(events)
            except Exception as exc:
                raised.append(exc)
                return False

        self._run(guarded)
        if raised:
            raise raised[0]

    def _hand_over(self, events: list[Event]) -> bool:
        return self._queue.put(events, self._stop)

    def _run(self, deliver: Callable[[list[Event]], bool] | None = None) -> None:
        consumer = self._consumer
        assert consumer is not None
        deliver = deliver or self._hand_over
        next_refresh = time.monotonic() + self.refresh_interval
        next_probe = 0.0
        try:
            while not self._stop.is_set() and not self._finished():
                messages = consumer.consume(self._want(), 0.2)
                trouble = self._check_client_errors()
                self._bounds.check_time()
                if messages and not trouble and _heard_from_broker(messages):
                    self._reconnected()
                events = self._convert(messages) if messages else []
                if self._ends:
                    events, self._ends = Batch(events, dict.fromkeys(self._ends)), []
                if (events or ends_of(events)) and not deliver(events):
                    break
                if self.state is SourceState.RECONNECTING:
                    if time.monotonic() >= next_probe:
                        self._probe()
                        next_probe = time.monotonic() + PROBE_INTERVAL
                elif not self.bounded and time.monotonic() >= next_refresh:
                    self._refresh()
                    next_refresh = time.monotonic() + self.refresh_interval
            if self._finished():
                self.state = SourceState.FINISHED
        except Exception as exc:  # the thread must never die silently
            self.state = SourceState.FAILED
            self._report(
                "error", f"reading from Kafka failed: {kafka_error_text(self.config, exc)}"
            )
        finally:
            self._queue.close()

    def _convert(self, messages: list[ck.Message]) -> list[Event]:
        events: list[Event] = []
        append = events.append
        bounds, past_bound = self._bounds.plans, self._bounds.past_bound
        nbytes = 0
        for m in messages:
            if m.error() is not None:
                self._on_message_error(m)
                continue
            topic, partition, offset = m.topic(), m.partition(), m.offset()
            ts_type, ts = m.timestamp()
            if bounds:
                plan = bounds.get((topic, partition))
                if plan is not None:
                    plan.at_end = False
                    plan.next = offset + 1
                    if plan.done:
                        continue
                    stop = plan.stop  # far from the stop offset: nothing to look at (most)
                    if (stop is None or offset >= stop - 1) and past_bound(plan, offset, ts):
                        continue
            key, value = m.key(), m.value()
            try:
                headers = m.headers()
            except Exception:  # a header name that is not UTF-8: the client cannot give any
                self._headers_lost(Event(topic, partition, offset, ts, ts_type, key, value))
                headers = None
            nbytes += len(value) if value else 0
            append(
                Event(
                    topic,
                    partition,
                    offset,
                    ts,
                    ts_type,
                    key,
                    value,
                    tuple(headers) if headers else (),
                )
            )
        self.stats.events += len(events)
        self.stats.bytes += nbytes
        prepare_events(events)  # schemas fetched here, in the reader's thread
        return events

    def _headers_lost(self, event: Event) -> None:
        """``event`` is kept without its headers: a problem of that record, not of the read."""
        reason = "its headers could not be read (a header name is not UTF-8)"
        report_problem(event, reason)  # counted by a scan reading in this thread
        self._report(
            "warning",
            f"record {event.topic}/{event.partition}/{event.offset}: {reason}; "
            "it is shown without headers (so are others like it, not named)",
            once="headers not UTF-8",
        )

    def _partition_done(self, plan: PartitionPlan) -> None:
        """A bounded partition is at its bound: its end goes out, the client lets it go."""
        self._ends.append((plan.topic, plan.partition))
        self.stats.partitions_done += 1
        assert self._consumer is not None
        self._consumer.incremental_unassign([ck.TopicPartition(plan.topic, plan.partition)])

    def _on_message_error(self, m: ck.Message) -> None:
        err = m.error()
        tp = (m.topic(), m.partition())
        if err.code() == _EOF:
            self._ends.append(tp)  # idle for now: it holds no watermark back
            self._bounds.reached_end(tp, m.offset())  # m.offset() is the partition's end here
            return
        if err.code() == ck.KafkaError.GROUP_AUTHORIZATION_FAILED and tp[0] is None:
            # librdkafka looks up the coordinator of the group.id evtui never joins;
            # a user without rights on it is refused, which changes nothing here
            return
        if err.code() == ck.KafkaError.TOPIC_AUTHORIZATION_FAILED:
            self._denied_partition(tp)
            return
        text = kafka_error_text(self.config, err)
        if err.code() in _GONE:
            self._report("warning", f"{tp[0]}[{tp[1]}] is gone: {text}", once=f"gone:{tp}")
            plan = self._bounds.get(tp)
            if plan is not None:
                self._bounds.done(plan)
            return
        self._report("warning", f"{tp[0]}[{tp[1]}]: {text}", once=f"err:{tp}:{err.code()}")

    def _denied_partition(self, tp: TP) -> None:
        """A topic we may describe but not read (ACLs): said once, then left alone."""
        topic = tp[0]
        self._report(
            "warning",
            f"not authorized to read topic '{topic}' on {self.config.bootstrap}; "
            "reading the other topics",
            once=f"denied:{topic}",
        )
        if topic not in self.skipped_topics:
            self.skipped_topics.append(topic)
        plan = self._bounds.get(tp)
        if plan is not None:
            self._bounds.done(plan)
        elif self._consumer is not None:
            self._consumer.incremental_unassign([ck.TopicPartition(topic, tp[1])])

    def _check_client_errors(self) -> bool:
        """Act on the client's error callbacks; True when one was connection trouble.

        Connection trouble makes the state RECONNECTING; only evidence that the
        cluster answers again (:meth:`_reconnected`) makes it CONNECTED. A round
        without errors proves nothing: librdkafka reports each failed reconnect
        attempt, and with its backoff most rounds fall between two attempts.
        """
        trouble = False
        for err in self._errors.drain():
            text = kafka_error_text(self.config, err)
            if is_auth_error(err):
                self.state = SourceState.AUTH_FAILED
                self._report("error", f"authentication failed: {text}", once="auth")
            elif is_connect_error(err):
                trouble = True
                if self.state is SourceState.CONNECTED:
                    self._report("warning", f"connection problem, retrying: {text}")
                    self.state = SourceState.RECONNECTING
            elif err.fatal():
                self.state = SourceState.FAILED
                self._report("error", f"Kafka client failed: {text}", once="fatal")
                self._stop.set()
            else:
                self._report("warning", text, once=f"code:{err.code()}")
        return trouble

    def _reconnected(self) -> None:
        """The cluster answered (a record, a partition end, metadata): connected again."""
        if self.state is SourceState.RECONNECTING:
            self.state = SourceState.CONNECTED
            self._report("info", f"connection restored to {self.config.bootstrap}")

    def _probe(self) -> None:
        """While reconnecting: a short metadata request; an answer means connected again."""
        metadata = self._list_topics(min(PROBE_TIMEOUT, self.timeout))
        if metadata is None:
            return
        self._reconnected()
        if not self.bounded:
            self._add_partitions(metadata)

    def _list_topics(self, timeout: float) -> ck.admin.ClusterMetadata | None:
        """Cluster metadata, or None when there is no answer in time."""
        assert self._consumer is not None
        try:
            return self._consumer.list_topics(timeout=timeout)
        except ck.KafkaException:
            return None  # connection trouble is reported through the error callback

    def _refresh(self) -> None:
        """Pick up partitions and topics that appeared since the last look."""
        metadata = self._list_topics(self.timeout)
        if metadata is not None:
            self._add_partitions(metadata)

    def _add_partitions(self, metadata: ck.admin.ClusterMetadata) -> None:
        topics, _ = match_topics(
            self.requested, metadata.topics, include_internal=self.include_internal
        )
        new = [
            (t, p)
            for t in topics
            for p in sorted(metadata.topics[t].partitions)
            if (t, p) not in self.plans and metadata.topics[t].error is None
        ]
        if not new:
            return
        plans = {
            tp: PartitionPlan(tp[0], tp[1], 0, 0, ck.OFFSET_BEGINNING) for tp in new
        }  # new since we started: all of it is news
        self.plans.update(plans)
        self.topics = list(dict.fromkeys([*self.topics, *(t for t, _ in new)]))
        self._assign(plans.values())
        self._report(
            "info",
            f"now also reading {len(new)} new partition(s): "
            + ", ".join(f"{t}[{p}]" for t, p in new[:5]),
        )

    # -- the reader's side -------------------------------------------------------------------

    def reading(self) -> list[TP]:
        """The partitions this read covers (those with records in range), after :meth:`open`."""
        return [tp for tp, plan in self.plans.items() if not plan.empty]

    def compacted_topics(self) -> frozenset[str]:
        """The topics read whose ``cleanup.policy`` compacts (DescribeConfigs, after :meth:`open`).

        Raises :class:`EvtuiError` when the cluster does not say (not allowed, no answer).
        """
        if not self.topics:
            return frozenset()
        from confluent_kafka.admin import AdminClient, ConfigResource, ResourceType

        admin = AdminClient(client_properties(self.config, ErrorCollector(self.config)))
        resources = [ConfigResource(ResourceType.TOPIC, topic) for topic in self.topics]
        try:
            futures = admin.describe_configs(resources, request_timeout=self.timeout)
            configs = {r.name: f.result(timeout=self.timeout + 1) for r, f in futures.items()}
        except (ck.KafkaException, TimeoutError) as exc:
            text = kafka_error_text(self.config, exc) or "no answer"
            raise EvtuiError(f"cannot tell which topics are compacted: {text}") from None
        return frozenset(topic for topic, config in configs.items() if _compacts(config))

    def cluster_id(self) -> str | None:
        """The cluster's id (after :meth:`open`), to tell two bootstrap lists of one cluster.

        Never polls the consumer: once partitions are assigned, a poll would take
        a record and lose it (``evtui record`` asks between opening and reading).
        """
        metadata = self._list_topics(self.timeout) if self._consumer is not None else None
        return metadata.cluster_id if metadata is not None else None

    def get_batch(self, timeout: float = 0.1) -> list[Event] | None:
        return self._queue.get(timeout)

    def problems(self) -> list[Problem]:
        with self._problems_lock:
            problems, self._problems = self._problems, []
        return problems

    def _report(self, level: str, message: str, once: str | None = None) -> None:
        if once is not None:
            if once in self._reported:
                return
            self._reported.add(once)
        with self._problems_lock:
            self._problems.append(Problem(level, self.config.scrub(message)))

    def stop(self) -> None:
        """Stop reading and close the client; safe to call from several threads."""
        self._stop.set()
        with self._stop_lock:
            if self._thread is not None:
                # a metadata refresh can block for up to the timeout
                self._thread.join(timeout=self.timeout + 5)
                if self._thread.is_alive():
                    return  # never close a client the thread still uses
            consumer, self._consumer = self._consumer, None
        if consumer is not None:
            with contextlib.suppress(RuntimeError, ck.KafkaException):
                consumer.close()

    def __enter__(self) -> KafkaSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
