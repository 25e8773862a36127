"""Cluster overview pollers: a Kafka cluster through the admin API, or the demo.

:class:`ClusterPoller` asks the cluster every ``interval`` seconds (counted
from the end of the previous poll, so polls never overlap) for its topics,
their start and end offsets, and its consumer groups. It only uses an
AdminClient: no consumer, so evtui never joins or creates a consumer group.

Each poll, on one deadline of ``timeout`` per stage:

1. ``list_topics`` for brokers, controller, topics and partitions, waited for in
   growing slices so that ``stop()``, an authentication failure or all brokers
   being down cut it short (not ``describe_cluster``: see ``_metadata``);
2. two batched ``list_offsets`` (earliest, latest) over all partitions;
3. ``list_consumer_groups`` then batched ``describe_consumer_groups``.

A failure in 1 fails the poll (backoff 1 s, 2 s, 4 s ... ``max_backoff``);
a failure in 2-3 is a problem of that snapshot, the rest is still filled: groups
that could not be described keep their last known state, marked with its time.

Requests are never timed out by librdkafka: they carry a request timeout of
``HOLD_S`` and evtui stops waiting at its own deadline. A poll that fails or
leaves a request unanswered drops its AdminClient (destroying it ends those requests) and
the next poll starts with a new one, as fresh as a new process. The reason:
librdkafka 2.16 (``rd_kafka_coord_req`` has no timeout of its own) keeps the
coordinator lookup of a timed-out ``describe_consumer_groups`` or
``list_consumer_group_offsets`` alive; when the broker comes back it sends the
request of the freed operation and aborts the process
(``rd_kafka_enq_once_del_source_return: Assertion 'eonce->refcnt > 0'``,
scripts/repro-admin-abort.py). A client that waited through an outage also
answered group requests with "timed out" for minutes afterwards.

Problems are news once: a problem also seen in the previous poll (numbers aside)
is a standing one, listed by :meth:`ClusterPoller.trouble`, not reported again.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, wait
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import confluent_kafka as ck
from confluent_kafka.admin import AdminClient, OffsetSpec

from evtui.config import ClientConfig
from evtui.core.cluster import ClusterSnapshot, ConnectionState, GroupInfo, RateTracker, TopicInfo
from evtui.core.text import plural
from evtui.errors import UsageError
from evtui.sources.kafka_client import (
    ErrorCollector,
    client_properties,
    connect_failure,
    is_auth_error,
    kafka_error_text,
)

if TYPE_CHECKING:
    from evtui.sources.demo import DemoSource

log = logging.getLogger("evtui.kafka")

TP = tuple[str, int]
BATCH = 1000  # partitions per list_offsets request, groups per describe request
SLICE = 0.1  # seconds between checks for stop() and auth errors while waiting
GATE_SLICE = 0.25  # the first wait for metadata; each next one is twice as long
_NO_ANSWER_YET = (ck.KafkaError._TIMED_OUT, ck.KafkaError._TRANSPORT)
KEEP_PROBLEMS = 100
# librdkafka's own timeout of admin requests: never reached, evtui's deadline comes first and
# an unanswered request is ended by dropping its client (see the module's docstring).
HOLD_S = 3600.0

_GROUP_STATES = {
    "UNKNOWN": "Unknown",
    "PREPARING_REBALANCING": "PreparingRebalance",
    "COMPLETING_REBALANCING": "CompletingRebalance",
    "STABLE": "Stable",
    "DEAD": "Dead",
    "EMPTY": "Empty",
}


class _Stopped(Exception):
    """stop() was called while a poll waited."""


class _PollFailed(Exception):
    """The cluster could not be reached or refused us (message is readable)."""

    def __init__(self, message: str, auth: bool) -> None:
        super().__init__(message)
        self.auth = auth


class _PartFailed(Exception):
    """One part of a poll (offsets, groups) failed; the message is readable."""


def now_ms() -> int:
    return int(time.time() * 1000)


def group_state(state: object) -> str:
    """A ConsumerGroupState as Kafka's tools name it ("PreparingRebalance", ...)."""
    name = getattr(state, "name", None) or str(state or "UNKNOWN")
    known = _GROUP_STATES.get(name.upper())
    return known or "".join(part.capitalize() for part in name.split("_"))


def group_type(kind: object) -> str:
    """ "classic" or "consumer" (the KIP-848 protocol); "consumer" when not reported."""
    name = str(getattr(kind, "name", "") or "").lower()
    return name if name and name != "unknown" else "consumer"


def chunks(items: list, size: int = BATCH) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def problem_kind(message: str) -> str:
    """A problem without its numbers: "describing 9 groups: timed out" is still the same one."""
    return re.sub(r"\d+", "#", message)


class _ProblemLog:
    """Each poll's problems: news when they start (bounded), a standing list while they last."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: deque[str] = deque(maxlen=KEEP_PROBLEMS)
        self._current: list[str] = []

    def report(self, problems: Iterable[str]) -> None:
        """The problems of one poll (none: a clean poll); those the last poll had are not news."""
        problems = list(dict.fromkeys(problems))
        with self._lock:
            known = {problem_kind(p) for p in self._current}
            self._items.extend(p for p in problems if problem_kind(p) not in known)
            self._current = problems

    def current(self) -> list[str]:
        with self._lock:
            return list(self._current)

    def drain(self) -> list[str]:
        with self._lock:
            items = list(self._items)
            self._items.clear()
        return items


class ClusterPoller:
    """Polls a Kafka cluster's overview on a daemon thread; read it with :meth:`latest`."""

    def __init__(
        self,
        config: ClientConfig,
        *,
        interval: float = 2.0,
        timeout: float = 10.0,
        max_backoff: float = 30.0,
    ) -> None:
        self.config = config
        self.interval = interval
        self.timeout = timeout
        self.max_backoff = max_backoff
        self.state = ConnectionState.CONNECTING
        self.last_error: str | None = None
        self.connected_once = False  # until then a failure is "cannot connect", not "reconnecting"
        self.polls = 0
        self.renewals = 0  # admin clients made anew after one was dropped
        self._issued: list[Future] = []  # the current poll's requests
        self._errors = ErrorCollector(config)
        self._seen: list[ck.KafkaError] = []  # client errors during the current poll
        self._problems = _ProblemLog()
        self._rates = RateTracker()
        self._offsets: dict[TP, tuple[int, int]] = {}  # last known (start, end)
        self._lock = threading.Lock()
        self._latest: ClusterSnapshot | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._admin: Any = None

    # -- public API ---------------------------------------------------------

    def start(self) -> None:
        """Create the admin client (UsageError on a bad setting) and start polling.

        Starting twice, or after stop(), does nothing.
        """
        with self._lock:
            if self._thread is not None or self._stop.is_set():
                return
            self._admin = self._make_admin()
            self._thread = threading.Thread(
                target=self._run, name="evtui-cluster-poller", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        """Stop polling; returns within about ``timeout`` even mid-request."""
        self._stop.set()
        with self._lock:
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=self.timeout + 1)

    def latest(self) -> ClusterSnapshot | None:
        with self._lock:
            return self._latest

    def problems(self) -> list[str]:
        """Problems that started since the last call (failed polls, failed parts of polls)."""
        return self._problems.drain()

    def trouble(self) -> list[str]:
        """The problems of the last poll: standing until a poll goes without them."""
        return self._problems.current()

    # -- the polling thread -------------------------------------------------

    def _make_admin(self) -> Any:
        try:
            return AdminClient(client_properties(self.config, self._errors))
        except (ck.KafkaException, ValueError, TypeError) as exc:
            detail = kafka_error_text(self.config, exc)
            raise UsageError(f"invalid Kafka client setting: {detail}") from None

    def _run(self) -> None:
        backoff = 1.0
        try:
            while not self._stop.is_set():
                ok = self._poll_once()
                if self._stop.is_set():
                    break
                self.polls += 1
                delay = self.interval if ok else min(backoff, self.max_backoff)
                backoff = 1.0 if ok else min(backoff * 2, self.max_backoff)
                self._stop.wait(delay)
        finally:
            self._admin = None  # the admin client has no close(); dropping it ends it

    def _poll_once(self) -> bool:
        if self._admin is None:  # dropped by the last poll: a new client, its errors are news
            self._admin = self._make_admin()
            self.renewals += 1
        self._errors.drain()  # what happened between polls is not this poll's news
        self._seen = []
        ok = False
        try:
            ok = self._poll_and_keep()
            return ok
        finally:
            self._renew_if_abandoned(failed=not ok)

    def _ask(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """An admin request librdkafka never times out itself; its futures are remembered."""
        result = call(*args, request_timeout=HOLD_S, **kwargs)
        self._issued.extend(result.values() if isinstance(result, dict) else [result])
        return result

    def _renew_if_abandoned(self, failed: bool) -> None:
        """A failed poll, or one that left a request unanswered, ends its client at once
        (before the broker is back); the next poll makes a new one, as fresh as a new
        process (a client that lived through an outage reconnects late and answered
        group requests with "timed out" for minutes)."""
        abandoned = any(not f.done() for f in self._issued)
        self._issued = []
        if abandoned or failed:
            self._admin = None  # destroyed as it is dropped, and its requests with it
            log.info("admin client dropped: %s", "poll failed" if failed else "unanswered")

    def _poll_and_keep(self) -> bool:
        try:
            snapshot = self._collect()
        except _Stopped:
            return True
        except _PollFailed as exc:
            self._fail(str(exc), auth=exc.auth)
            return False
        except Exception as exc:  # a bug must not end the overview
            log.exception("cluster poll failed")
            self._fail(f"cluster poll failed: {self.config.scrub(str(exc))}", auth=False)
            return False
        with self._lock:
            self._latest = snapshot
        self.state = ConnectionState.CONNECTED
        self.connected_once = True
        self.last_error = None
        self._problems.report(snapshot.problems)
        return True

    def _fail(self, message: str, auth: bool) -> None:
        self.last_error = message
        if auth:
            self.state = ConnectionState.AUTH_FAILED
        elif self.connected_once:
            self.state = ConnectionState.RECONNECTING
        else:
            self.state = ConnectionState.CANNOT_CONNECT
        self._problems.report([message])

    def _collect(self) -> ClusterSnapshot:
        metadata = self._metadata()
        partitions = {
            name: sorted(topic.partitions) for name, topic in metadata.topics.items() if name
        }
        problems: list[str] = []
        offsets = self._fetch_offsets(partitions, problems)
        groups = self._fetch_groups(problems)
        topics = self._topics(partitions, offsets)
        return ClusterSnapshot(
            cluster_id=metadata.cluster_id,
            brokers=len(metadata.brokers),
            controller_id=metadata.controller_id if metadata.controller_id >= 0 else None,
            topics=topics,
            groups=groups,
            taken_ms=now_ms(),
            problems=tuple(problems),
        )

    def _metadata(self) -> Any:
        """``list_topics`` in growing slices until the deadline; stop(), an authentication
        failure or all brokers being down end the wait early.

        Not ``describe_cluster``: librdkafka 2.16 aborts the process when a broker that
        just started answers it with no brokers and no topics (``rd_kafka_parse_Metadata``
        says "should retry", the DescribeCluster parser returns no error and no result:
        ``rd_kafka_admin_response_parse: Assertion 'rko_result' failed``).
        """
        deadline = time.monotonic() + self.timeout
        wait_s = GATE_SLICE
        while True:
            if self._stop.is_set():
                raise _Stopped
            remaining = deadline - time.monotonic()
            try:
                return self._admin.list_topics(timeout=max(min(wait_s, remaining), SLICE))
            except ck.KafkaException as exc:
                if exc.args[0].code() not in _NO_ANSWER_YET or remaining <= wait_s:
                    raise self._unreachable(exc) from None
            self._collect_errors()
            if any(is_auth_error(e) for e in self._seen) or self._all_down():
                raise self._unreachable(None)
            wait_s *= 2

    def _unreachable(self, exc: BaseException | None) -> _PollFailed:
        self._collect_errors()
        message = str(connect_failure(self.config, self._seen, exc, self.timeout))
        auth = any(is_auth_error(e) for e in self._seen) or (
            isinstance(exc, ck.KafkaException) and is_auth_error(exc.args[0])
        )
        return _PollFailed(message, auth)

    def _collect_errors(self) -> None:
        self._admin.poll(0)  # serves the error callbacks
        self._seen.extend(self._errors.drain())

    def _await(self, futures: Iterable[Future], deadline: float) -> None:
        """Wait for futures until ``deadline``; stop() and auth errors cut it short."""
        pending = set(futures)
        while pending:
            if self._stop.is_set():
                raise _Stopped
            self._collect_errors()
            if any(is_auth_error(e) for e in self._seen):
                raise self._unreachable(None)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            _, pending = wait(pending, timeout=min(SLICE, remaining))

    def _all_down(self) -> bool:
        return any(e.code() == ck.KafkaError._ALL_BROKERS_DOWN for e in self._seen)

    # -- offsets ------------------------------------------------------------

    def _fetch_offsets(
        self, partitions: dict[str, list[int]], problems: list[str]
    ) -> dict[TP, tuple[int, int]]:
        """(start, end) per partition; the last known one where this poll failed."""
        tps = [ck.TopicPartition(t, p) for t, ps in partitions.items() for p in ps]
        deadline = time.monotonic() + self.timeout
        earliest = self._list_offsets(tps, OffsetSpec.earliest())
        latest = self._list_offsets(tps, OffsetSpec.latest())
        self._await([*earliest.values(), *latest.values()], deadline)
        failed: list[str] = []
        fresh: dict[TP, tuple[int, int]] = {}
        for tp in tps:
            key = (tp.topic, tp.partition)
            start, end = self._offset(earliest[key], failed), self._offset(latest[key], failed)
            known = self._offsets.get(key, (0, 0))
            fresh[key] = (known[0] if start is None else start, known[1] if end is None else end)
        self._offsets = fresh
        if failed:
            lookups = 2 * len(tps)
            problems.append(
                f"offsets: {len(failed)} of {plural(lookups, 'lookup')} failed: {failed[-1]}"
            )
        return fresh

    def _offset(self, future: Future, failed: list[str]) -> int | None:
        if not future.done():
            failed.append("timed out")
            return None
        exc = future.exception()
        if exc is not None:
            failed.append(kafka_error_text(self.config, exc))
            return None
        return future.result().offset

    def _list_offsets(self, tps: list[ck.TopicPartition], spec: OffsetSpec) -> dict[TP, Future]:
        futures: dict[TP, Future] = {}
        for chunk in chunks(tps):
            request = {tp: spec for tp in chunk}
            for tp, future in self._ask(self._admin.list_offsets, request).items():
                futures[(tp.topic, tp.partition)] = future
        return futures

    def _topics(
        self, partitions: dict[str, list[int]], offsets: dict[TP, tuple[int, int]]
    ) -> tuple[TopicInfo, ...]:
        sums = {
            name: (
                sum(offsets[(name, p)][0] for p in ps),
                sum(offsets[(name, p)][1] for p in ps),
            )
            for name, ps in partitions.items()
        }
        rates = self._rates.update(int(time.monotonic() * 1000), {n: s[1] for n, s in sums.items()})
        return tuple(
            TopicInfo(
                name=name,
                partitions=len(partitions[name]),
                start_offsets=start,
                end_offsets=end,
                internal=name.startswith("__"),
                rate=rates.get(name),
            )
            for name, (start, end) in sorted(sums.items())
        )

    # -- consumer groups ----------------------------------------------------

    def _fetch_groups(self, problems: list[str]) -> tuple[GroupInfo, ...]:
        deadline = time.monotonic() + self.timeout
        try:
            listing = self._result(self._ask(self._admin.list_consumer_groups), deadline)
        except _PartFailed as exc:
            problems.append(f"consumer groups: {exc}")
            return ()
        if listing.errors:
            problems.append(f"consumer groups: {kafka_error_text(self.config, listing.errors[0])}")
        listed = {g.group_id: g for g in listing.valid or []}
        described = self._describe_groups(sorted(listed), deadline, problems)
        return tuple(
            described.get(name) or self._undescribed(name, g) for name, g in sorted(listed.items())
        )

    def _undescribed(self, name: str, listed: Any) -> GroupInfo:
        """A group this poll could not describe: as last described (marked with when), or
        its listed state and unknown members."""
        previous = self.latest()
        for known in previous.groups if previous is not None else ():
            if known.name == name and known.members is not None:
                return replace(known, as_of_ms=known.as_of_ms or previous.taken_ms)
        kind = group_type(getattr(listed, "type", None))
        return GroupInfo(name, group_state(listed.state), None, kind)

    def _describe_groups(
        self, names: list[str], deadline: float, problems: list[str]
    ) -> dict[str, GroupInfo]:
        futures: dict[str, Future] = {}
        for chunk in chunks(names):
            futures.update(self._ask(self._admin.describe_consumer_groups, chunk))
        self._await(futures.values(), deadline)
        groups: dict[str, GroupInfo] = {}
        failed: list[str] = []
        for name, future in futures.items():
            try:
                d = self._result(future, deadline)
            except _PartFailed as exc:
                failed.append(str(exc))
                continue
            groups[name] = GroupInfo(
                name, group_state(d.state), len(d.members or ()), group_type(d.type)
            )
        if failed:
            problems.append(f"describing {plural(len(failed), 'consumer group')}: {failed[-1]}")
        return groups

    def _result(self, future: Future, deadline: float) -> Any:
        self._await([future], deadline)
        if not future.done() or _timed_out(future):
            raise _PartFailed("timed out")
        exc = future.exception()
        if exc is not None:
            raise _PartFailed(kafka_error_text(self.config, exc))
        return future.result()


def _timed_out(future: Future) -> bool:
    exc = future.exception() if future.done() else None
    return isinstance(exc, ck.KafkaException) and exc.args[0].code() == ck.KafkaError._TIMED_OUT


class DemoClusterPoller:
    """The same overview from a :class:`DemoSource`: no thread, built on demand.

    ``latest()`` builds a snapshot at most once per ``interval`` (of ``clock``,
    wall-clock seconds); rates are per wall-clock second, like a real cluster's.
    """

    def __init__(
        self,
        source: DemoSource,
        *,
        interval: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self.interval = interval
        self.state = ConnectionState.CONNECTING
        self.last_error: str | None = None
        self.polls = 0
        self._clock = clock
        self._rates = RateTracker()
        self._lock = threading.Lock()
        self._latest: ClusterSnapshot | None = None
        self._taken: float | None = None
        self._running = False

    def start(self) -> None:
        with self._lock:
            self._running = True
            self.state = ConnectionState.CONNECTED

    def stop(self) -> None:
        with self._lock:
            self._running = False

    def problems(self) -> list[str]:
        return []

    def latest(self) -> ClusterSnapshot | None:
        with self._lock:
            now = self._clock()
            due = self._taken is None or now - self._taken >= self.interval
            if self._running and due:
                self._latest = self._snapshot(now)
                self._taken = now
                self.polls += 1
            return self._latest

    def _snapshot(self, now: float) -> ClusterSnapshot:
        ends: dict[str, list[int]] = {}
        for (topic, _), end in self.source.end_offsets().items():
            ends.setdefault(topic, []).append(end)
        rates = self._rates.update(int(now * 1000), {t: sum(e) for t, e in ends.items()})
        topics = tuple(
            TopicInfo(t, len(e), 0, sum(e), internal=False, rate=rates[t])
            for t, e in sorted(ends.items())
        )
        stopped = set(self.source.groups.stopped(self.source.now_ms))
        groups = tuple(
            GroupInfo(g.name, "Empty", 0) if g.name in stopped else GroupInfo(g.name, "Stable", 1)
            for g in sorted(self.source.sim.groups, key=lambda g: g.name)
        )
        return ClusterSnapshot("demo", 1, 1, topics, groups, now_ms())
