"""The cluster overview: topics, consumer groups and produce rates, as plain data.

A poller (``evtui.sources.cluster``) fills a :class:`ClusterSnapshot` every few
seconds; the views filter it with :func:`filter_topics` / :func:`filter_groups`.
Pure: no Textual, no confluent-kafka here.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from enum import StrEnum


class ConnectionState(StrEnum):
    """A str Enum (StrEnum): ``str(state)`` and f-strings give the value."""

    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    AUTH_FAILED = "auth failed"
    CANNOT_CONNECT = "cannot connect"  # never connected yet (a wrong address or port)


@dataclass(frozen=True)
class TopicInfo:
    name: str
    partitions: int
    start_offsets: int  # sum over partitions of the log start offset
    end_offsets: int  # sum over partitions of the end (high watermark) offset
    internal: bool
    rate: float | None = None  # produced events/s over the rate window; None = not known yet

    @property
    def messages(self) -> int:
        return self.end_offsets - self.start_offsets

    @property
    def hidden(self) -> bool:
        """Internal topics (flagged, or named ``__...``) are hidden by default."""
        return self.internal or self.name.startswith("__")


@dataclass(frozen=True)
class GroupInfo:
    name: str
    state: str  # "Stable", "Empty", "Dead", "PreparingRebalance", "CompletingRebalance", "Unknown"
    members: int | None  # None: never read (the group could not be described yet)
    group_type: str = "consumer"
    as_of_ms: int | None = None  # set: state and members are from then, not refreshed since


@dataclass(frozen=True)
class ClusterSnapshot:
    cluster_id: str | None
    brokers: int | None  # None: not a cluster (a recording)
    controller_id: int | None
    topics: tuple[TopicInfo, ...]
    groups: tuple[GroupInfo, ...]
    taken_ms: int
    problems: tuple[str, ...] = ()  # parts that failed this poll, e.g. "consumer groups: timed out"


class RateTracker:
    """Events/s per topic from successive end offsets, over a bounded window.

    Each topic keeps at most ``max_points`` samples, and none older than
    ``window_ms`` (except that the two newest are always kept, so a slow
    poll still gives a rate). An end offset that goes down (the topic was
    recreated) restarts that topic's window; topics that vanish are dropped.
    """

    def __init__(self, window_ms: int = 30_000, max_points: int = 120) -> None:
        if window_ms <= 0 or max_points < 2:
            raise ValueError("window_ms must be positive and max_points at least 2")
        self.window_ms = window_ms
        self.max_points = max_points
        self._points: dict[str, deque[tuple[int, int]]] = {}

    def __len__(self) -> int:
        return len(self._points)

    def points(self, topic: str) -> int:
        """How many samples are kept for a topic (0 if unknown)."""
        return len(self._points.get(topic, ()))

    def update(self, taken_ms: int, ends: dict[str, int]) -> dict[str, float | None]:
        for gone in self._points.keys() - ends.keys():
            del self._points[gone]
        return {topic: self._add(topic, taken_ms, end) for topic, end in ends.items()}

    def _add(self, topic: str, taken_ms: int, end: int) -> float | None:
        points = self._points.get(topic)
        if points is None:
            points = self._points[topic] = deque(maxlen=self.max_points)
        if points and (end < points[-1][1] or taken_ms < points[-1][0]):
            points.clear()  # recreated topic (or a clock that went back): start over
        if points and taken_ms == points[-1][0]:
            points.pop()  # the same instant twice: keep the newer reading
        points.append((taken_ms, end))
        while len(points) > 2 and taken_ms - points[0][0] > self.window_ms:
            points.popleft()
        return _rate(points)


def _rate(points: deque[tuple[int, int]]) -> float | None:
    if len(points) < 2:
        return None
    (t0, e0), (t1, e1) = points[0], points[-1]
    return (e1 - e0) * 1000 / (t1 - t0)


def filter_topics(snapshot: ClusterSnapshot, text: str, include_internal: bool) -> list[TopicInfo]:
    """Topics whose name contains ``text`` (any case), by name; internal ones on request."""
    needle = text.strip().lower()
    return sorted(
        (
            t
            for t in snapshot.topics
            if needle in t.name.lower() and (include_internal or not t.hidden)
        ),
        key=lambda t: t.name,
    )


def filter_groups(snapshot: ClusterSnapshot, text: str) -> list[GroupInfo]:
    """Groups whose name contains ``text`` (any case), by name."""
    needle = text.strip().lower()
    return sorted((g for g in snapshot.groups if needle in g.name.lower()), key=lambda g: g.name)


def age_text(since_ms: int, now_ms: int) -> str:
    """How old a reading is, short: "12s", "4m", "2h" (never negative)."""
    seconds = max(0, now_ms - since_ms) // 1000
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h"


def stale_mark(since_ms: int | None, now_ms: int) -> str:
    """ "" for a fresh reading, else "stale 42s": the reading could not be refreshed since."""
    return "" if since_ms is None else f"stale {age_text(since_ms, now_ms)}"


def state_text(state: str, as_of_ms: int | None, now_ms: int | None = None) -> str:
    """A group's state, with "(stale 42s)" when it is from an earlier poll."""
    if as_of_ms is None:
        return state
    now = int(time.time() * 1000) if now_ms is None else now_ms
    return f"{state} ({stale_mark(as_of_ms, now)})"


def members_text(members: int | None) -> str:
    return "?" if members is None else str(members)
