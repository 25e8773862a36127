"""Consumer lag as plain data: offsets, time, health and catch-up, from polled samples.

A poller (``evtui.sources.lag``) reads, every few seconds, each group's
committed offsets, the partitions' start and end offsets and, where the
cluster lets it read ``__consumer_offsets``, when each group last committed.
This module turns those samples into what the lag screen and ``evtui lag``
show. Pure: no Textual, no confluent-kafka.

Offset lag is ``max(0, end - committed)``; a partition without a committed
offset has no lag (None), never 0.

Time lag, estimated (``estimated``): the sliding table of (end offset, time)
points of each partition (:class:`OffsetTimes`, the kafka-lag-exporter
method) says when the end offset passed the committed offset; the lag is the
time since. A flat stretch (no records produced) keeps only its last time:
the record at that offset was written after it. A committed offset older
than the table is placed by the table's average rate (``extrapolated``).
Fewer than two points, or no rate to extrapolate with: unknown, never 0 or
NaN. Exact (``exact``): the age of the record at the committed offset, read
on demand; a caught-up partition's time lag is exactly 0.

Health, per partition, over the samples of the last ``window_s`` (see
:data:`RULES`); a group's status is its worst partition's.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from itertools import pairwise
from typing import Protocol

from evtui.core import native
from evtui.core.lag_commits import CommitLog, parse_commit  # noqa: F401 (still read from here)


class Status(StrEnum):
    """A partition's or group's health, declared from the best to the worst.

    The declaration order is the one order of statuses (:data:`SEVERITY`): a
    group takes its worst partition's status (:func:`worst`) and sorting by
    status puts the worst first. Unknown is worse than ok and idle (nobody can
    say it is fine) and better than every problem that is known.
    """

    OK = "ok"
    IDLE = "idle"
    UNKNOWN = "unknown"
    LAGGING = "lagging"
    REWOUND = "rewound"
    STALLED = "stalled"
    STOPPED = "stopped"


SEVERITY = {status: rank for rank, status in enumerate(Status)}

RULES = (
    ("ok", "no lag, or lag that is not growing while the group commits progress"),
    ("idle", "no member and no lag: nothing to consume, nobody consuming (no ETA)"),
    ("unknown", "no committed offset, or not enough samples yet (two, a window apart)"),
    ("lagging", "lag grew at each of the last 4 samples while the group still makes progress"),
    ("rewound", "the committed offset went backwards within the window (a reset or a replay)"),
    ("stalled", "lag exists and the group is alive, but its committed offset does not move"),
    (
        "stopped",
        "lag and nobody consuming: the group has no member (and commits no progress), "
        "or no member owns the partition and no commit came for half the window (no ETA)",
    ),
)
NO_PROGRESS = (Status.IDLE, Status.STALLED, Status.STOPPED)  # these have no ETA

EMPTY_STATES = ("Empty", "Dead")  # group states without members: nobody consumes
TREND_SAMPLES = 4  # lagging: lag grew at each of this many latest samples

# time lag kinds
EXACT, ESTIMATED, EXTRAPOLATED = "exact", "estimated", "extrapolated"


def offset_lag(committed: int | None, end: int) -> int | None:
    """``max(0, end - committed)``; None without a committed offset."""
    return None if committed is None else max(0, end - committed)


# -- the offset/time table --------------------------------------------------------------------


class OffsetTimes:
    """(end offset, time ms) points of one partition, newest last, bounded in count and age.

    An end offset that goes down (the topic was recreated or truncated)
    starts the table over; the same offset again moves its point's time
    forward (a flat stretch keeps only its last time). When ``max_points``
    are kept, every other point of the older half goes: old times stay
    covered, at a coarser grain, so a lag of hours still interpolates.
    """

    def __init__(self, max_points: int = 240, window_ms: int = 24 * 3_600_000) -> None:
        if max_points < 4:
            raise ValueError("max_points must be at least 4")
        self.max_points = max_points
        self.window_ms = window_ms
        self.points: deque[tuple[int, int]] = deque()

    def add(self, end: int, taken_ms: int) -> None:
        points = self.points
        if points and (end < points[-1][0] or taken_ms < points[-1][1]):
            points.clear()
        if points and end == points[-1][0]:
            points[-1] = (end, taken_ms)
        else:
            points.append((end, taken_ms))
        while len(points) > 2 and taken_ms - points[0][1] > self.window_ms:
            points.popleft()
        if len(points) > self.max_points:
            half = len(points) // 2
            older = list(points)[:half]
            self.points = deque([*older[::2], *list(points)[half:]])

    def rate(self) -> float | None:
        """Records per ms over the table; None with fewer than two points or no time."""
        if len(self.points) < 2:
            return None
        (o0, t0), (o1, t1) = self.points[0], self.points[-1]
        return (o1 - o0) / (t1 - t0) if t1 > t0 else None

    def time_of(self, offset: int) -> tuple[int, str] | None:
        """When the record at ``offset`` was written, by the table; with how it was found."""
        points = self.points
        if not points or offset >= points[-1][0]:
            return None  # not written yet when last sampled
        if offset < points[0][0]:
            rate = self.rate()
            if not rate:
                return None
            o0, t0 = points[0]
            return round(t0 - (o0 - offset) / rate), EXTRAPOLATED
        for (o1, t1), (o2, t2) in pairwise(points):
            if o1 <= offset < o2:
                return round(t1 + (offset - o1) * (t2 - t1) / (o2 - o1)), ESTIMATED
        return None  # unreachable: the points are increasing


def estimated_time_lag(
    table: OffsetTimes, committed: int | None, end: int, now_ms: int
) -> tuple[float | None, str | None]:
    """(seconds, kind): 0 exactly when caught up; None when it cannot be told."""
    if committed is None:
        return None, None
    if committed >= end:
        return 0.0, EXACT
    found = table.time_of(committed)
    if found is None:
        return None, None
    written, kind = found
    return max(0.0, (now_ms - written) / 1000), kind


# -- health -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sample:
    """One poll's view of one partition of one group.

    The console keeps up to 240 per (group, partition): 20,000 for the demo's groups after
    8 minutes (bench/soak). Plain numbers, so :func:`kept` takes them off the cyclic
    collector's lists (every full collection walked them).
    """

    taken_ms: int
    committed: int | None
    end: int
    commits: int | None = None  # commits seen so far (None: commit records not readable)

    @property
    def lag(self) -> int | None:
        return offset_lag(self.committed, self.end)


def kept(samples: list[Sample]) -> list[Sample]:
    """``samples``, off the cyclic collector's lists (they refer to nothing but numbers)."""
    native.untrack_acyclic(samples, Sample)
    return samples


@dataclass(frozen=True)
class Health:
    status: Status
    reason: str
    consume_rate: float | None = None  # committed records/s over the window
    produce_rate: float | None = None  # produced records/s over the window
    eta_s: float | None = None  # seconds to catch up at the current rates


def evaluate(
    samples: Sequence[Sample],
    window_ms: int,
    members: int | None = None,
    last_commit_ms: int | None = None,
    commit_gap_ms: float | None = None,
    owned: bool = False,
    empty: bool = False,
) -> Health:
    """The status of one partition from its samples (oldest first); see :data:`RULES`.

    A partition of an ``empty`` group (no member: its state is Empty) makes no
    progress: with lag it is stopped, without it idle, and neither has an ETA;
    unless the group is seen committing (a consumer that assigns its
    partitions itself, as Flink does, commits without being a member), when it
    is judged on its progress like any other. Stopped, stalled and idle
    partitions have no ETA.

    When the samples carry commit counts (commit records are read), a
    partition with lag whose group has not committed for half the window
    (``last_commit_ms``: None when not within the window), and for three of
    its usual gaps between commits (``commit_gap_ms``: a consumer that works
    long on each batch is not stopped), is stopped, unless a member of the
    group owns it (``owned``: the consumer is alive; it is judged on its
    progress instead). Without
    commit records, ``members`` (the group's members now) decides between
    stalled and stopped: members but no progress is stalled.
    """
    health = _judge(samples, window_ms, members, last_commit_ms, commit_gap_ms, owned, empty)
    if health.status in NO_PROGRESS and health.eta_s is not None:
        return Health(health.status, health.reason, health.consume_rate, health.produce_rate)
    return health


def _judge(
    samples: Sequence[Sample],
    window_ms: int,
    members: int | None,
    last_commit_ms: int | None,
    commit_gap_ms: float | None,
    owned: bool,
    empty: bool,
) -> Health:
    if not samples or samples[-1].committed is None:
        return Health(Status.UNKNOWN, "no committed offset")
    last = samples[-1]
    window = [s for s in samples if last.taken_ms - s.taken_ms <= window_ms]
    window = [s for s in window if s.committed is not None]
    first = window[0]
    rates = _rates(window)
    lag = last.lag or 0
    if empty and not _committing(window, last_commit_ms, commit_gap_ms):
        if lag == 0:
            return Health(Status.IDLE, "no member, no lag", *rates)
        return Health(Status.STOPPED, "no member, no commit of progress", *rates)
    if any(b.committed < a.committed for a, b in pairwise(window)):  # type: ignore[operator]
        return Health(Status.REWOUND, "committed offset went backwards", *rates)
    if lag == 0:
        return Health(Status.OK, "caught up", *rates)
    if last.commits is not None and not owned:
        silence = None if last_commit_ms is None else last.taken_ms - last_commit_ms
        if silence is None or silence > max(window_ms / 2, 3 * (commit_gap_ms or 0)):
            said = "in the window" if silence is None else f"for {silence / 1000:,.0f} s"
            return Health(Status.STOPPED, f"no commit {said}", *rates)
    if len(window) < 2 or last.taken_ms - first.taken_ms < window_ms / 2:
        return Health(Status.UNKNOWN, "collecting samples", *rates)
    if last.committed == first.committed:
        return _not_moving(first, last, members, rates)
    lags = [s.lag or 0 for s in window[-TREND_SAMPLES:]]
    if len(lags) == TREND_SAMPLES and all(b > a for a, b in pairwise(lags)):
        return Health(
            Status.LAGGING, f"lag grew at each of the last {TREND_SAMPLES} samples", *rates
        )
    return Health(Status.OK, "progressing", *rates)


def _committing(
    window: Sequence[Sample], last_commit_ms: int | None, commit_gap_ms: float | None
) -> bool:
    """Whether a group without members is seen committing now.

    With commit records: its last commit came within three of its usual gaps.
    Without: its committed offset moved forward at the latest sample.
    """
    last = window[-1]
    if last.commits is not None:
        if last_commit_ms is None or not commit_gap_ms:
            return False
        return last.taken_ms - last_commit_ms <= 3 * commit_gap_ms
    return len(window) > 1 and window[-1].committed > window[-2].committed  # type: ignore[operator]


def _not_moving(first: Sample, last: Sample, members: int | None, rates: tuple) -> Health:
    if last.commits is not None:
        return Health(Status.STALLED, "no progress over the window", *rates)
    if members:
        return Health(Status.STALLED, "members but no progress (commit times unreadable)", *rates)
    return Health(Status.STOPPED, "no progress and no members", *rates)


def _rates(window: Sequence[Sample]) -> tuple[float | None, float | None, float | None]:
    """(consume, produce, eta) over the window: records/s and seconds."""
    if len(window) < 2:
        return None, None, None
    first, last = window[0], window[-1]
    seconds = (last.taken_ms - first.taken_ms) / 1000
    if seconds <= 0:
        return None, None, None
    consume = (last.committed - first.committed) / seconds  # type: ignore[operator]
    produce = (last.end - first.end) / seconds
    lag = last.lag or 0
    net = consume - produce
    eta = lag / net if lag and net > 0 else (0.0 if not lag else None)
    return consume, produce, eta


def worst(statuses: Iterable[Status]) -> Status:
    """The most severe status (UNKNOWN when there is none)."""
    return max(statuses, key=SEVERITY.__getitem__, default=Status.UNKNOWN)


# -- the model the views read -----------------------------------------------------------------


@dataclass(frozen=True)
class PartitionLag:
    topic: str
    partition: int
    committed: int | None
    end: int
    start: int
    lag: int | None
    time_lag_s: float | None
    time_lag_kind: str | None
    status: Status
    reason: str
    member: str | None = None  # the member the partition is assigned to, if any
    expired: bool = False  # committed offset below the log start: records deleted
    problem: str | None = None  # what could not be read for this partition

    def to_json(self) -> dict:
        return {
            "topic": self.topic,
            "partition": self.partition,
            "committed": self.committed,
            "end": self.end,
            "lag": self.lag,
            "time_lag_s": _round(self.time_lag_s),
            "time_lag_kind": self.time_lag_kind,
            "status": str(self.status),
            "member": self.member,
        }


@dataclass(frozen=True)
class GroupLag:
    group: str
    state: str
    members: int
    partitions: tuple[PartitionLag, ...]
    trend: tuple[int | None, ...] = ()  # total lag at each sample, oldest first (None: unknown)
    eta_s: float | None = None  # seconds to catch up (0: caught up); None: none or unknown
    problem: str | None = None
    as_of_ms: int | None = None  # set: the figures are from then (this poll could not read them)

    @property
    def lag(self) -> int | None:
        """Total lag over partitions with a committed offset (None when none has one)."""
        lags = [p.lag for p in self.partitions if p.lag is not None]
        return sum(lags) if lags else None

    @property
    def time_lag_s(self) -> float | None:
        times = [p.time_lag_s for p in self.partitions if p.time_lag_s is not None]
        return max(times) if times else None

    @property
    def status(self) -> Status:
        return worst(p.status for p in self.partitions)

    def to_json(self) -> dict:
        return {
            "group": self.group,
            "state": self.state,
            "status": str(self.status),
            "members": self.members,
            "lag": self.lag,
            "time_lag_s": _round(self.time_lag_s),
            "eta_s": _round(self.eta_s),
            "partitions": [p.to_json() for p in self.partitions],
        }


def _round(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 3)


@dataclass
class LagReport:
    """Every group the poll saw, and what went wrong where."""

    groups: list[GroupLag] = field(default_factory=list)
    taken_ms: int = 0
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"groups": [g.to_json() for g in self.groups]}


# -- past samples from commit records ----------------------------------------------------------


def past_samples(
    commits: Sequence[tuple[int, int | None]],
    total_commits: int,
    ends: Sequence[tuple[int, int]],
    committed_now: int | None,
) -> list[Sample]:
    """Samples at past times, rebuilt from commit records and end offsets at those times.

    ``commits`` are the (time, offset) commits read for the window (oldest
    first; the oldest may have been thinned out, ``total_commits`` counts them
    all) and ``ends`` the (time, end offset) of the partition at the chosen
    times. At a time before the first commit known, the committed offset is
    known only when no commit came at all in the window (it is then the one
    committed now); otherwise that time is skipped.
    """
    out = []
    thinned = total_commits - len(commits)
    for taken, end in ends:
        before = [c for c in commits if c[0] <= taken]
        if before:
            out.append(Sample(taken, before[-1][1], end, thinned + len(before)))
        elif not commits:
            out.append(Sample(taken, committed_now, end, 0))
    return out


# -- from one poll to a report ------------------------------------------------------------------

TP = tuple[str, int]


@dataclass
class GroupPoll:
    """What one poll read of a group."""

    state: str
    members: int
    owners: dict[TP, str] = field(default_factory=dict)  # partition -> member
    committed: dict[TP, int | None] = field(default_factory=dict)  # None: no offset
    problem: str | None = None  # what could not be read


class CommitInfo(Protocol):
    def commits(self, group: str, topic: str, partition: int) -> int: ...
    def last_ms(self, group: str, topic: str, partition: int) -> int | None: ...
    def history(self, group: str, topic: str, partition: int) -> list[tuple[int, int | None]]: ...


def usual_gap_ms(history: Sequence[tuple[int, int | None]]) -> float | None:
    """The median time between the latest commits (at most 8 gaps; None without two)."""
    gaps = sorted(b[0] - a[0] for a, b in pairwise(history[-9:]))
    return gaps[len(gaps) // 2] if gaps else None


class LagModel:
    """Keeps each partition's offset/time table and each (group, partition)'s samples.

    :meth:`update` turns one poll into a :class:`LagReport`. Groups that are
    gone lose their history; every table is bounded (see :class:`OffsetTimes`).
    """

    def __init__(self, window_ms: int, history: int = 240, trend: int = 60) -> None:
        self.window_ms = window_ms
        self.max_history = history
        self.max_trend = trend
        self.tables: dict[TP, OffsetTimes] = {}
        self.history: dict[tuple[str, TP], deque[Sample]] = {}
        self._trends: dict[str, deque[int | None]] = {}
        self._trend_at: dict[str, int] = {}  # when each trend's last point was taken
        self._eta: dict[tuple[str, TP], float | None] = {}

    def seed(self, group: str, tp: TP, samples: Iterable[Sample]) -> None:
        """Samples from before the first poll (rebuilt from commit records)."""
        self.history[(group, tp)] = deque(kept(list(samples)), maxlen=self.max_history)

    def seed_table(self, tp: TP, points: Iterable[tuple[int, int]]) -> None:
        """(time, end offset) points from before the first poll."""
        if tp not in self.tables:
            table = self.tables[tp] = OffsetTimes()
            for at, end in points:
                table.add(end, at)

    def update(
        self,
        groups: dict[str, GroupPoll],
        ends: dict[TP, tuple[int, int]],
        taken_ms: int,
        commits: CommitInfo | None = None,
        problems: Iterable[str] = (),
    ) -> LagReport:
        """A report of ``groups`` with ``ends`` ((start, end) per partition) read now."""
        for tp, (_, end) in ends.items():
            self.tables.setdefault(tp, OffsetTimes()).add(end, taken_ms)
        report = LagReport(taken_ms=taken_ms, problems=list(problems))
        for name in sorted(groups):
            report.groups.append(self._group(name, groups[name], ends, taken_ms, commits))
        self._forget(set(groups))
        return report

    def _group(
        self,
        name: str,
        poll: GroupPoll,
        ends: dict[TP, tuple[int, int]],
        taken: int,
        commits: CommitInfo | None,
    ) -> GroupLag:
        parts = tuple(
            self._partition(name, poll, tp, offset, ends, taken, commits)
            for tp, offset in sorted(poll.committed.items())
        )
        group = GroupLag(name, poll.state, poll.members, parts, problem=poll.problem)
        trend = self._trends.setdefault(name, deque(maxlen=self.max_trend))
        if trend and self._trend_at.get(name) == taken:
            trend.pop()  # a poll at the same instant restates that point, it adds none
        trend.append(group.lag)
        self._trend_at[name] = taken
        return replace(group, trend=tuple(trend), eta_s=self._group_eta(name, group))

    def _group_eta(self, name: str, group: GroupLag) -> float | None:
        """When the slowest partition catches up; None when one does not, or cannot be told.

        Unknown lag (a partition without a committed offset) has an unknown
        ETA; a group that makes no progress (idle, stalled, stopped) has none.
        """
        parts = group.partitions
        if not parts or any(p.lag is None for p in parts) or group.status in NO_PROGRESS:
            return None
        etas = [self._eta.get((name, (p.topic, p.partition))) for p in parts if p.lag]
        return None if None in etas else max(etas, default=0.0)  # type: ignore[type-var]

    def _partition(
        self,
        name: str,
        poll: GroupPoll,
        tp: TP,
        committed: int | None,
        ends: dict[TP, tuple[int, int]],
        taken: int,
        commits: CommitInfo | None,
    ) -> PartitionLag:
        topic, partition = tp
        member = poll.owners.get(tp)
        if tp not in ends:
            return PartitionLag(
                topic, partition, committed, 0, 0, None, None, None, Status.UNKNOWN,
                "not readable", member, problem="topic deleted or partition unknown",
            )  # fmt: skip
        start, end = ends[tp]
        count = last = gap = None
        if commits is not None:
            count = commits.commits(name, topic, partition)
            last = commits.last_ms(name, topic, partition)
            if last is not None and last < taken - self.window_ms:
                last = None
            gap = usual_gap_ms(commits.history(name, topic, partition))
        history = self.history.setdefault((name, tp), deque(maxlen=self.max_history))
        if history and history[-1].taken_ms == taken:
            history.pop()  # the same instant polled again: one sample, the latest reading
        history.append(kept([Sample(taken, committed, end, count)])[0])
        while len(history) > 2 and taken - history[0].taken_ms > 2 * self.window_ms:
            history.popleft()
        health = evaluate(
            history, self.window_ms, poll.members, last, gap, owned=member is not None,
            empty=poll.state in EMPTY_STATES,
        )  # fmt: skip
        self._eta[(name, tp)] = health.eta_s
        seconds, kind = estimated_time_lag(self.tables[tp], committed, end, taken)
        expired = committed is not None and committed < start
        problem = None
        if expired:
            deleted = start - committed  # type: ignore[operator]
            problem = f"committed offset below the log start ({deleted:,} records deleted)"
        return PartitionLag(
            topic, partition, committed, end, start, offset_lag(committed, end), seconds, kind,
            health.status, health.reason, member, expired, problem,
        )  # fmt: skip

    def _forget(self, groups: set[str]) -> None:
        """Drop the history of groups that are gone (memory stays bounded)."""
        for key in [k for k in self.history if k[0] not in groups]:
            del self.history[key]
            self._eta.pop(key, None)
        for name in [n for n in self._trends if n not in groups]:
            del self._trends[name]
            self._trend_at.pop(name, None)
