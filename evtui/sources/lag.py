"""Consumer lag from a cluster: groups, committed offsets, end offsets, commit records.

:class:`LagPoller` is a :class:`~evtui.sources.cluster.ClusterPoller` (its own
thread, polls that never overlap, backoff on failure, one deadline per stage)
whose poll reads, for the groups that match:

1. ``list_consumer_groups`` and batched ``describe_consumer_groups``: state,
   members and which member owns which partition;
2. ``list_consumer_group_offsets``, one request per group that was described,
   all in flight at once, made by a worker process (sources/offsets_worker.py:
   librdkafka crashes an AdminClient's process on some answers to it): the
   committed offsets;
3. batched ``list_offsets`` (earliest, latest) of those partitions.

A :class:`CommitTracker` reads ``__consumer_offsets`` from ``window`` ago on
(assigned, never in a group) to count each partition's commits: a group that
commits without moving is stalled, one that does not commit is stopped. When
that topic cannot be read, the status falls back on the group's members and
says so. Nothing here joins, creates or changes a group.

A group that vanishes between listing and describing, a topic deleted while a
group still has offsets on it, or one request that times out: that group or
partition says what went wrong and the rest of the report is filled.
"""

from __future__ import annotations

import re
import threading
import time
from concurrent.futures import Future
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import confluent_kafka as ck

from evtui.config import ClientConfig
from evtui.core.lag import EXACT, GroupPoll, LagModel, LagReport, past_samples
from evtui.core.lag_commits import CommitLog, parse_commit
from evtui.core.positions import Kind, Position
from evtui.sources.cluster import (
    ClusterPoller,
    DemoClusterPoller,
    _PartFailed,
    chunks,
    group_state,
    now_ms,
)
from evtui.sources.kafka_client import kafka_error_text
from evtui.sources.offsets_worker import OffsetReader, WorkerCrashed

if TYPE_CHECKING:
    from evtui.sources.demo import DemoSource

TP = tuple[str, int]
COMMITS_TOPIC = "__consumer_offsets"
SEED_POINTS = 6  # past samples rebuilt over the window for a partition seen the first time


def group_matcher(pattern: str | None) -> Any:
    """A predicate on group names: all, an exact name, or a regex (searched)."""
    if not pattern:
        return lambda name: True
    try:
        regex = re.compile(pattern)
    except re.error:
        return lambda name: name == pattern
    return lambda name: name == pattern or regex.search(name) is not None


class CommitTracker:
    """Reads ``__consumer_offsets`` into a :class:`CommitLog` on its own thread.

    First the window up to the end as it was on start (then ``caught_up`` is
    set: the log holds the window's history), then on from exactly there.
    """

    def __init__(self, config: ClientConfig, window_ms: int, timeout: float) -> None:
        self.config = config
        self.window_ms = window_ms
        self.timeout = timeout
        self.log = CommitLog()
        self.error: str | None = None  # why commits are not known (None: they are)
        self.caught_up = threading.Event()
        self.complete_ms = 0  # every commit up to this time is in the log
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    @property
    def started(self) -> bool:
        return self._thread is not None

    @property
    def available(self) -> bool:
        return self.error is None and self._thread is not None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="evtui-commits", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout + 1)

    def wait(self, timeout: float, until_ms: int | None = None) -> bool:
        """True once the log holds every commit up to ``until_ms`` (default: the start).

        False when that does not happen within ``timeout`` or commits are unreadable.
        """
        deadline = time.monotonic() + timeout
        if not self.caught_up.wait(timeout) or self.error is not None:
            return False
        while until_ms is not None and self.complete_ms < until_ms:
            if time.monotonic() >= deadline or self.error is not None or self._stop.is_set():
                return False
            time.sleep(0.05)
        return True

    def _run(self) -> None:
        from evtui.core.positions import END
        from evtui.errors import EvtuiError
        from evtui.sources.kafka import KafkaSource

        since = Position(Kind.TIME, now_ms() - self.window_ms)
        try:
            history = self._open(
                KafkaSource(
                    self.config, [COMMITS_TOPIC], since, END,
                    timeout=self.timeout, include_internal=True,
                )
            )  # fmt: skip
            if history is None or not self._read(history):
                return
            self.complete_ms = since.value + self.window_ms  # the end when it started
            self.caught_up.set()
            plans = [
                replace(p, start=max(p.start, p.stop or 0), stop=None, done=False)
                for p in history.plans.values()
            ]
            live = self._open(
                KafkaSource(
                    self.config, [COMMITS_TOPIC], timeout=self.timeout,
                    include_internal=True, plans=plans,
                )
            )  # fmt: skip
            if live is not None:
                self._read(live)
        except EvtuiError as exc:
            self.error = f"commit times unavailable ({exc})"
        finally:
            self.caught_up.set()  # nobody waits for what will not come

    def _open(self, source: Any) -> Any:
        try:
            return source.open()
        except Exception as exc:  # unauthorised, unknown topic, unreachable: said, not raised
            self.error = f"commit times unavailable ({exc})"
            return None

    def _read(self, source: Any) -> bool:
        """Read until the source ends or stop(); False on an error (kept in ``error``)."""
        add = self.log.add
        try:
            source.start()
            while not self._stop.is_set():
                asked = now_ms()
                batch = source.get_batch(0.2)
                if batch is None:
                    return True
                if not batch and self.caught_up.is_set():
                    self.complete_ms = asked - 500  # nothing new for 0.2 s: read up to then
                for event in batch:
                    commit = parse_commit(event.key, event.value)
                    if commit is not None:
                        add(commit, event.timestamp)
                for problem in source.problems():
                    if problem.level == "error":
                        self.error = f"commit times unavailable ({problem.message})"
                        return False
            return False
        finally:
            source.stop()


class LagPoller(ClusterPoller):
    """Polls lag on a daemon thread; :meth:`latest` gives the last :class:`LagReport`."""

    def __init__(
        self,
        config: ClientConfig,
        *,
        groups: str | None = None,
        interval: float = 5.0,
        timeout: float = 10.0,
        window_s: float = 300.0,
        commits: bool = True,
    ) -> None:
        super().__init__(config, interval=interval, timeout=timeout)
        self.window_ms = int(window_s * 1000)
        self.wanted = group_matcher(groups)
        # a plain name: asked for by name when the broker's list hides it (ACLs list
        # only the groups one may describe)
        self.named = groups if groups and not set(groups) & set("^$*+?()[]{}|\\") else None
        self.tracker = CommitTracker(config, self.window_ms, timeout) if commits else None
        self._reader = OffsetReader(config.to_librdkafka())
        self.model = LagModel(self.window_ms)

    def start(self) -> None:
        super().start()
        if self.tracker is not None and not self.tracker.started:
            self.tracker.start()

    def stop(self) -> None:
        super().stop()
        self._reader.close()
        if self.tracker is not None:
            self.tracker.stop()

    def latest(self) -> LagReport | None:  # type: ignore[override]
        return super().latest()  # type: ignore[return-value]

    def poll_now(self) -> LagReport:
        """One poll in the calling thread (``evtui lag`` without ``--watch``).

        The window's past comes from the commit records, so the status is known
        at once; call :meth:`stop` afterwards.
        """
        self._admin = self._admin or self._make_admin()
        if self.tracker is not None and not self.tracker.started:
            self.tracker.start()
        if not self._poll_once():
            from evtui.errors import ConnectionFailed

            raise ConnectionFailed(self.last_error or "cannot reach the cluster")
        report = self.latest()
        assert report is not None
        return report

    # -- one poll -----------------------------------------------------------

    def _collect(self) -> LagReport:  # type: ignore[override]
        metadata = self._metadata()
        problems: list[str] = []
        deadline = time.monotonic() + self.timeout
        groups = self._groups(deadline, problems)
        self._read_committed(groups, deadline)
        topics = {name: set(t.partitions) for name, t in metadata.topics.items() if name}
        wanted: dict[str, set[int]] = {}
        for poll in groups.values():
            for topic, partition in poll.committed:
                if partition in topics.get(topic, ()):
                    wanted.setdefault(topic, set()).add(partition)
        ends = self._fetch_offsets({t: sorted(ps) for t, ps in wanted.items()}, problems)
        taken = now_ms()
        self._seed(groups, ends, taken, deadline)
        tracker = self.tracker
        commits = None
        if tracker is not None:
            if tracker.error:
                problems.append(tracker.error)
            elif tracker.started and tracker.caught_up.is_set():
                commits = tracker.log
        return self._keep_known(self.model.update(groups, ends, taken, commits, problems))

    def _keep_known(self, report: LagReport) -> LagReport:
        """Groups this poll could not read keep their last figures, marked with their time."""
        previous = self.latest()
        if previous is None:
            return report
        known = {g.group: g for g in previous.groups if g.problem is None or g.as_of_ms}
        for i, group in enumerate(report.groups):
            old = known.get(group.group)
            if group.problem and old is not None:
                since = old.as_of_ms or previous.taken_ms
                report.groups[i] = replace(old, problem=group.problem, as_of_ms=since)
        return report

    def _seed(
        self, groups: dict[str, GroupPoll], ends: dict[TP, tuple[int, int]], taken: int,
        deadline: float,
    ) -> None:  # fmt: skip
        """Give partitions seen for the first time the window's past, from commit records.

        Their status is then known at once (``evtui lag`` polls once) and judged
        over the whole window, not over the first few seconds of watching.
        """
        new = [
            (name, tp)
            for name, poll in groups.items()
            for tp in poll.committed
            if (name, tp) not in self.model.history and tp in ends
        ]
        tracker = self.tracker
        if not new or tracker is None:
            return
        if not tracker.wait(max(0.0, deadline - time.monotonic()), until_ms=taken):
            return  # without every commit up to now, the past cannot be told
        step = self.window_ms // SEED_POINTS
        times = [taken - self.window_ms + i * step for i in range(SEED_POINTS)]
        past = self._ends_at(sorted({tp for _, tp in new}), times, ends, deadline)
        for tp, points in past.items():
            self.model.seed_table(tp, points)
        log = tracker.log
        for name, tp in new:
            committed = groups[name].committed[tp]
            history = log.history(name, *tp)
            samples = past_samples(history, log.commits(name, *tp), past.get(tp, []), committed)
            self.model.seed(name, tp, samples)

    def _ends_at(
        self, tps: list[TP], times: list[int], ends: dict[TP, tuple[int, int]], deadline: float
    ) -> dict[TP, list[tuple[int, int]]]:
        """Each partition's end offset at each time: the first offset written at or after it."""
        from confluent_kafka.admin import OffsetSpec

        partitions = [ck.TopicPartition(*tp) for tp in tps]
        requests = [
            (at, self._list_offsets(partitions, OffsetSpec.for_timestamp(at))) for at in times
        ]
        self._await([f for _, futures in requests for f in futures.values()], deadline)
        past: dict[TP, list[tuple[int, int]]] = {}
        for at, futures in requests:
            for tp, future in futures.items():
                if not future.done() or future.exception() is not None:
                    continue
                offset = future.result().offset
                end = ends[tp][1] if offset < 0 else min(offset, ends[tp][1])
                past.setdefault(tp, []).append((at, end))
        return past

    def _groups(self, deadline: float, problems: list[str]) -> dict[str, GroupPoll]:
        try:
            listing = self._result(self._ask(self._admin.list_consumer_groups), deadline)
        except _PartFailed as exc:
            problems.append(f"consumer groups: {exc}")
            return {}
        if listing.errors:
            problems.append(f"consumer groups: {kafka_error_text(self.config, listing.errors[0])}")
        names = sorted(g.group_id for g in listing.valid or [] if self.wanted(g.group_id))
        if self.named and self.named not in names:
            self._denied_group(self.named, deadline, problems)
        groups = {name: GroupPoll("Unknown", 0) for name in names}
        futures: dict[str, Future] = {}
        for chunk in chunks(names):
            futures.update(self._ask(self._admin.describe_consumer_groups, chunk))
        self._await(futures.values(), deadline)
        for name, future in futures.items():
            try:
                described = self._result(future, deadline)
            except _PartFailed as exc:
                groups[name].problem = f"cannot describe: {exc}"
                continue
            groups[name] = GroupPoll(
                group_state(described.state), len(described.members or ()), _owners(described)
            )
        return groups

    def _denied_group(self, name: str, deadline: float, problems: list[str]) -> None:
        """Say so when the broker refuses to describe a group named (not listed to us)."""
        future = self._ask(self._admin.describe_consumer_groups, [name])[name]
        try:
            self._result(future, deadline)
        except _PartFailed as exc:
            if "authoriz" in str(exc).lower():
                problems.append(f"not authorized to describe consumer group '{name}'")

    def _read_committed(self, groups: dict[str, GroupPoll], deadline: float) -> None:
        """Each group's committed offsets; partitions it owns without one: no offset.

        Read by a worker process (sources/offsets_worker.py: librdkafka crashes the
        process whose AdminClient is answered with a coordinator error), and asked only
        of groups whose coordinator has just answered ``describe``. A group that could
        not be read keeps its last offsets, marked stale."""
        names = [name for name, poll in groups.items() if poll.problem is None]
        if not names:
            return
        try:
            answers = self._reader.read(names, max(deadline - time.monotonic(), 1.0))
        except (WorkerCrashed, TimeoutError) as exc:
            for name in names:
                groups[name].problem = f"cannot read committed offsets: {exc}"
            return
        for name, found in answers.items():
            poll = groups[name]
            if isinstance(found, str):
                poll.problem = f"cannot read committed offsets: {self.config.scrub(found)}"
                continue
            poll.committed = {tp: None for tp in poll.owners}
            poll.committed.update(found)


def _owners(described: Any) -> dict[TP, str]:
    owners: dict[TP, str] = {}
    for member in described.members or ():
        who = f"{member.client_id}@{member.host}".replace("@/", "@")
        assignment = getattr(member, "assignment", None)
        for tp in getattr(assignment, "topic_partitions", None) or ():
            owners[(tp.topic, tp.partition)] = who
    return owners


def record_times(config: ClientConfig, wanted: dict[TP, int], timeout: float) -> dict[TP, int]:
    """The timestamp of the record at each offset (assigned reads; no group is touched).

    Partitions whose record did not arrive within ``timeout`` are left out.
    """
    from evtui.sources.kafka_client import ErrorCollector, make_consumer

    if not wanted:
        return {}
    consumer = make_consumer(config, ErrorCollector(config), {"enable.partition.eof": "false"})
    found: dict[TP, int] = {}
    try:
        consumer.assign([ck.TopicPartition(t, p, o) for (t, p), o in wanted.items()])
        deadline = time.monotonic() + timeout
        while len(found) < len(wanted) and time.monotonic() < deadline:
            for m in consumer.consume(500, 0.2):
                tp = (m.topic(), m.partition())
                if m.error() is None and tp in wanted and tp not in found:
                    found[tp] = m.timestamp()[1]
                    consumer.incremental_unassign([ck.TopicPartition(*tp)])
    finally:
        consumer.close()
    return found


def with_exact_time_lags(
    config: ClientConfig, report: LagReport, timeout: float, groups: set[str] | None = None
) -> LagReport:
    """``report`` with exact time lags: the age of the record at each committed offset.

    Below the log start (records deleted) the oldest record still there is
    read: the figure is then a lower bound, and the partition says so.
    """
    wanted: dict[TP, int] = {}
    for group in report.groups:
        if groups is not None and group.group not in groups:
            continue
        for part in group.partitions:
            if part.lag and part.committed is not None:
                wanted[(part.topic, part.partition)] = max(part.committed, part.start)
    times = record_times(config, wanted, timeout)
    out = LagReport(taken_ms=report.taken_ms, problems=list(report.problems))
    for group in report.groups:
        if groups is not None and group.group not in groups:
            out.groups.append(group)
            continue
        parts = []
        for part in group.partitions:
            written = times.get((part.topic, part.partition))
            if part.lag and written is not None:
                age = max(0.0, (report.taken_ms - written) / 1000)
                part = replace(part, time_lag_s=age, time_lag_kind=EXACT)
            parts.append(part)
        out.groups.append(replace(group, partitions=tuple(parts)))
    return out


class DemoLagPoller(DemoClusterPoller):
    """The simulated groups' lag: the same model, on the simulator's clock.

    The simulator keeps commit records and end offsets over time, as a cluster
    does, so the window's past is rebuilt the same way (see :meth:`_seed`).
    """

    def __init__(
        self,
        source: DemoSource,
        *,
        interval: float = 2.0,
        window_s: float = 60.0,
        clock: Any = time.monotonic,
    ) -> None:
        super().__init__(source, interval=interval, clock=clock)
        self.model = LagModel(int(window_s * 1000))

    def latest(self) -> LagReport | None:  # type: ignore[override]
        return super().latest()  # type: ignore[return-value]

    def _snapshot(self, now: float) -> LagReport:  # type: ignore[override]
        return self._poll()

    def _poll(self) -> LagReport:
        source = self.source
        taken = source.now_ms
        simulated = source.groups
        stopped = set(simulated.stopped(taken))
        groups = {}
        for name, committed in source.group_offsets().items():
            live = name not in stopped
            owners = {tp: f"{name}-1@demo" for tp in committed} if live else {}
            groups[name] = GroupPoll(
                "Stable" if live else "Empty", int(live), owners, dict(committed)
            )
        self._seed(groups, taken)
        ends = {tp: (0, end) for tp, end in source.end_offsets().items()}
        return self.model.update(groups, ends, taken, simulated.log)

    def _seed(self, groups: dict[str, GroupPoll], taken: int) -> None:
        """The window's past, from the simulator's commit log and end offsets (as on a cluster)."""
        simulated, model = self.source.groups, self.model
        new = [
            (name, tp)
            for name, poll in groups.items()
            for tp in poll.committed
            if (name, tp) not in model.history
        ]
        step = model.window_ms // SEED_POINTS
        times = [taken - model.window_ms + i * step for i in range(SEED_POINTS)]
        for name, tp in new:
            table = simulated.tables.get(tp)
            points = [] if table is None else [(at, end) for end, at in list(table.points)]
            model.seed_table(tp, points)
            past = [(at, _end_at(points, at)) for at in times if points and points[0][0] <= at]
            log = simulated.log
            committed = groups[name].committed[tp]
            model.seed(name, tp, past_samples(log.history(name, *tp), log.commits(name, *tp),
                                              past, committed))  # fmt: skip


def _end_at(points: list[tuple[int, int]], at: int) -> int:
    """The end offset at ``at`` from (time, end) points: the last one seen by then."""
    end = points[0][1]
    for when, value in points:
        if when > at:
            break
        end = value
    return end
