"""Replaying a slice of a topic: the plan, provenance, rate, acknowledgements and checkpoints.

Pure: no Kafka client here (``evtui.application.replay`` drives the clients).

Exactly once across a crash, without transactions: the checkpoint keeps, per
source partition, the next source offset to copy (every record before it is
acknowledged by the target, or was filtered out), and per target partition the
offset from which records of this replay may lie beyond that point
(``verify_from``). A resumed replay first reads the target from there and
skips the source records it finds there by their provenance headers, so a
record acknowledged after the last checkpoint (or written just before a
``kill -9``) is neither written again nor skipped.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from evtui.core.event import Event
from evtui.core.positions import Kind, Position
from evtui.errors import UsageError
from evtui.paths import state_dir

REPLAY_ID = "evtui-replay-id"
SOURCE_TOPIC = "evtui-source-topic"
SOURCE_PARTITION = "evtui-source-partition"
SOURCE_OFFSET = "evtui-source-offset"
PROVENANCE = (REPLAY_ID, SOURCE_TOPIC, SOURCE_PARTITION, SOURCE_OFFSET)
PARTITIONINGS = ("same", "key", "round-robin")
CHECKPOINT_VERSION = 1

TP = tuple[str, int]


def new_replay_id(now_s: float | None = None) -> str:
    """``r20261127-101800-3fa9c1``: sortable by time, unique enough to name a file."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(time.time() if now_s is None else now_s))
    return f"r{stamp}-{secrets.token_hex(3)}"


def provenance(replay_id: str, topic: str, partition: int, offset: int) -> list[tuple[str, bytes]]:
    """The headers added to every copied record."""
    return [
        (REPLAY_ID, replay_id.encode()),
        (SOURCE_TOPIC, topic.encode()),
        (SOURCE_PARTITION, str(partition).encode()),
        (SOURCE_OFFSET, str(offset).encode()),
    ]


def read_provenance(
    headers: Iterable[tuple[str, bytes | None]],
) -> tuple[str, str, int, int] | None:
    """(replay id, source topic, partition, offset) from a copied record's headers, or None."""
    found: dict[str, bytes] = {}
    for name, value in headers:
        if name in PROVENANCE and value is not None:
            found[name] = value  # the last one wins: a record replayed twice names the newest
    try:
        return (
            found[REPLAY_ID].decode(),
            found[SOURCE_TOPIC].decode(),
            int(found[SOURCE_PARTITION]),
            int(found[SOURCE_OFFSET]),
        )
    except (KeyError, ValueError, UnicodeDecodeError):
        return None


def parse_rate(text: str | None, option: str = "--rate") -> float | None:
    """``--rate 500`` or ``500/s``: records per second (None: unthrottled); ``option``
    names the field in an error (the console dialog's own word)."""
    if text is None:
        return None
    body = text.strip().lower().removesuffix("/s").strip()
    try:
        rate = float(body)
    except ValueError:
        rate = -1.0
    if not rate > 0 or rate != rate or rate == float("inf"):
        raise UsageError(f"invalid {option} '{text}': expected a positive number of records/s")
    return rate


def parse_partitions(text: str | None) -> frozenset[int] | None:
    """``--partitions 0,2-4``: source partitions to read (None: all)."""
    if text is None:
        return None
    chosen: set[int] = set()
    try:
        for part in text.split(","):
            low, _, high = part.strip().partition("-")
            first, last = int(low), int(high) if high else int(low)
            if first < 0 or last < first:
                raise ValueError
            chosen.update(range(first, last + 1))
    except ValueError:
        raise UsageError(
            f"invalid --partitions '{text}': expected numbers and ranges such as 0,2-4"
        ) from None
    return frozenset(chosen)


class RateLimiter:
    """At most ``rate`` records per second on average, in bursts of at most a tenth of a second."""

    def __init__(self, rate: float | None, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.clock = clock
        self.burst = max(1.0, (rate or 0) / 10)
        self.tokens = self.burst
        self.last = clock()

    def delay(self, n: int = 1) -> float:
        """Take ``n`` tokens; the seconds to wait before sending them (0: now)."""
        if self.rate is None:
            return 0.0
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        self.tokens -= n
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


# -- the plan ---------------------------------------------------------------------------------


@dataclass
class PartitionSlice:
    """What one source partition contributes: offsets ``start``..``stop - 1``."""

    partition: int
    start: int
    stop: int
    records: int | None = None  # after the filter, counted by a scan (None: not counted)
    scanned: int | None = None
    first_offset: int | None = None
    last_offset: int | None = None
    first_ms: int | None = None
    last_ms: int | None = None

    @property
    def offsets(self) -> int:
        return max(0, self.stop - self.start)


@dataclass
class ReplayPlan:
    """Everything a replay will do, shown before anything is written."""

    replay_id: str
    source: str  # a cluster's name or bootstrap, or a file
    source_topic: str
    target: str
    target_topic: str
    slices: list[PartitionSlice]
    partitioning: str = "same"
    keep_timestamps: bool = False
    rate: float | None = None
    filter: str | None = None
    target_partitions: int | None = None
    create_topic: bool = False

    @property
    def records(self) -> int | None:
        counts = [s.records for s in self.slices]
        return None if any(c is None for c in counts) else sum(c or 0 for c in counts)

    @property
    def offsets(self) -> int:
        return sum(s.offsets for s in self.slices)

    def to_json(self) -> dict:
        data = asdict(self)
        data["records"] = self.records
        data["headers_added"] = list(PROVENANCE)
        return data


def render_plan(plan: ReplayPlan) -> str:
    """The plan as a person reads it."""
    lines = [
        f"replay {plan.replay_id}: {plan.source} {plan.source_topic} -> "
        f"{plan.target} {plan.target_topic}"
        + (" (the topic will be created)" if plan.create_topic else ""),
        f"  partitioning {plan.partitioning}; timestamps "
        + ("kept" if plan.keep_timestamps else "new (the time of writing)")
        + f"; rate {'unlimited' if plan.rate is None else f'{plan.rate:g}/s'}"
        + (f"; filter {plan.filter}" if plan.filter else ""),
        f"  {'PARTITION':>9}  {'FIRST OFFSET':>12}  {'LAST OFFSET':>12}  {'FIRST TIME':24}  "
        f"{'LAST TIME':24}  {'RECORDS':>9}",
    ]
    for s in plan.slices:
        lines.append(
            f"  {s.partition:>9}  {_num(s.first_offset):>12}  {_num(s.last_offset):>12}  "
            f"{_time(s.first_ms):24}  {_time(s.last_ms):24}  {_count(s):>9}"
        )
    total = plan.records
    lines.append(
        f"  total: {total:,} records" if total is not None else f"  total: at most {plan.offsets:,}"
    )
    lines.append(f"  headers added: {', '.join(PROVENANCE)}")
    return "\n".join(lines)


def _num(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _count(s: PartitionSlice) -> str:
    return f"≤{s.offsets:,}" if s.records is None else f"{s.records:,}"


def _time(ms: int | None) -> str:
    from evtui.core.positions import format_ms

    return "-" if ms is None else format_ms(ms)


# -- acknowledgements -------------------------------------------------------------------------

PENDING, ACKED, SKIPPED = 0, 1, 2
Found = dict[tuple[int, int], tuple[int, int]]  # (source p, offset) -> (target p, offset)


class AckTracker:
    """Per source partition, the offsets read in order and which the target acknowledged.

    ``next_offset(p)`` is the checkpoint: every record before it is done (acked,
    filtered out, or found already written). Acknowledgements may come back in
    any order across target partitions; the checkpoint only moves over a
    contiguous prefix. A record whose delivery failed stays pending: the
    checkpoint never passes it (it may or may not be in the target; a resume
    looks).
    """

    def __init__(
        self, starts: dict[int, int], target_ends: dict[int, int], found: Found | None = None
    ) -> None:
        self._next = dict(starts)
        self._window: dict[int, deque[list]] = {p: deque() for p in starts}
        self._pending: dict[tuple[int, int], list] = {}
        self.target_ends = dict(target_ends)  # each target partition's end when this run began
        self.found = dict(found or {})  # written by an earlier run, beyond its checkpoint
        self.last_acked: dict[int, int] = {}  # target partition -> highest offset acked
        self.acked = self.failed = 0

    def already_written(self, partition: int, offset: int) -> bool:
        return (partition, offset) in self.found

    def read(self, partition: int, offset: int, written: bool) -> None:
        """A source record was read: sent (``written``) or done without writing."""
        window = self._window.setdefault(partition, deque())
        if not window and not written:
            self._next[partition] = offset + 1
            return
        entry = [offset, PENDING if written else SKIPPED, -1, -1]
        window.append(entry)
        if written:
            self._pending[(partition, offset)] = entry
        self._advance(partition)

    def ack(self, partition: int, offset: int, target_partition: int, target_offset: int) -> None:
        entry = self._pending.pop((partition, offset))
        entry[1:] = [ACKED, target_partition, target_offset]
        self.acked += 1
        if target_offset > self.last_acked.get(target_partition, -1):
            self.last_acked[target_partition] = target_offset
        self._advance(partition)

    def fail(self, partition: int, offset: int) -> None:
        """Not acknowledged: stays pending, so the checkpoint stops before it."""
        self.failed += 1

    def _advance(self, partition: int) -> None:
        window = self._window[partition]
        while window and window[0][1] != PENDING:
            self._next[partition] = window.popleft()[0] + 1

    def next_offset(self, partition: int) -> int:
        return self._next[partition]

    @property
    def in_flight(self) -> int:
        return len(self._pending)

    def verify_from(self) -> dict[int, int]:
        """Per target partition, the lowest offset where a record of this replay that the
        checkpoint does not cover may lie (a resume reads the target from there).

        Acknowledged records beyond the checkpoint are where they were acknowledged;
        one not acknowledged lands, if at all, after everything acknowledged in its
        partition (an idempotent producer keeps a partition's order), or after the
        partition's end when this run began; and records an earlier run wrote stay
        where they were found until the checkpoint passes them.
        """
        low: dict[int, int] = {}

        def at_most(partition: int, offset: int) -> None:
            low[partition] = min(low.get(partition, offset), offset)

        for (source, offset), (partition, target) in self.found.items():
            if offset >= self._next.get(source, 0):
                at_most(partition, target)
        for window in self._window.values():
            for _, state, partition, target in window:
                if state == ACKED:
                    at_most(partition, target)
        after_acked = {
            p: self.last_acked.get(p, end - 1) + 1 for p, end in self.target_ends.items()
        }
        after_acked.update(
            {p: last + 1 for p, last in self.last_acked.items() if p not in after_acked}
        )
        return {**after_acked, **low}


# -- checkpoints ------------------------------------------------------------------------------


@dataclass
class Checkpoint:
    """What a replay needs to resume: its options, its bounds and how far it got."""

    replay_id: str
    options: dict  # what the replay was asked to do (a resume must agree with it)
    stops: dict[str, int]  # source partition -> exclusive stop offset, fixed by the plan
    next_offsets: dict[str, int]  # source partition -> next offset to copy
    verify_from: dict[str, int] = field(default_factory=dict)  # target partition -> offset
    written: int = 0  # records acknowledged by the target over every run
    done: bool = False
    version: int = CHECKPOINT_VERSION

    def remaining(self) -> int:
        return sum(max(0, self.stops[p] - n) for p, n in self.next_offsets.items())


def checkpoint_path(replay_id: str) -> Path:
    if not replay_id or "/" in replay_id or replay_id.startswith("."):
        raise UsageError(f"invalid replay id '{replay_id}'")
    return state_dir() / "replays" / f"{replay_id}.json"


def save_checkpoint(checkpoint: Checkpoint) -> Path:
    """Written whole to a temporary file, then renamed: never half a checkpoint."""
    path = checkpoint_path(checkpoint.replay_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    with temporary.open("w") as out:
        json.dump(asdict(checkpoint), out, sort_keys=True)
        out.flush()
        os.fsync(out.fileno())
    temporary.replace(path)
    return path


def load_checkpoint(replay_id: str) -> Checkpoint:
    path = checkpoint_path(replay_id)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise UsageError(f"no replay '{replay_id}' to resume (looked for {path})") from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read the checkpoint of replay '{replay_id}': {exc}") from None
    if not isinstance(data, dict) or data.get("version") != CHECKPOINT_VERSION:
        raise UsageError(f"{path} is not a checkpoint evtui can resume")
    try:
        checkpoint = Checkpoint(**data)
    except TypeError:
        raise UsageError(f"{path} is not a checkpoint evtui can resume") from None
    if checkpoint.replay_id != replay_id:
        raise UsageError(f"{path} belongs to replay '{checkpoint.replay_id}', not '{replay_id}'")
    return checkpoint


# -- what the console replays -----------------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    """A slice chosen in the console: one topic, a range, maybe partitions and a filter."""

    topic: str
    start: Position
    until: Position
    partitions: frozenset[int] | None = None
    filter: str | None = None

    def describe(self) -> str:
        from evtui.core.positions import describe

        where = self.topic
        if self.partitions is not None:
            where += f" partition {','.join(map(str, sorted(self.partitions)))}"
        text = f"{where} from {describe(self.start)} until {describe(self.until)}"
        return text + (f" where {self.filter}" if self.filter else "")


def selection_from_marks(first: Event, last: Event, filter: str | None = None) -> Selection:
    """Two marked events: their offsets in one partition, else their times in every partition."""
    if first.topic != last.topic:
        raise UsageError(
            f"the marks are on {first.topic} and {last.topic}: a replay reads one topic"
        )
    a, b = sorted((first, last), key=lambda e: (e.timestamp, e.partition, e.offset))
    if a.partition == b.partition:
        a, b = sorted((first, last), key=lambda e: e.offset)
        return Selection(
            a.topic, Position(Kind.OFFSET, a.offset), Position(Kind.OFFSET, b.offset),
            frozenset({a.partition}), filter,
        )  # fmt: skip
    return Selection(
        a.topic, Position(Kind.TIME, a.timestamp), Position(Kind.TIME, b.timestamp + 1),
        None, filter,
    )  # fmt: skip


def selection_from_tail(topics: list[str], start: Position, filter: str | None) -> Selection:
    """What the tail shows: its topic from its start to the end now, with its filter."""
    from evtui.core.positions import END

    if len(topics) != 1 or topics[0].startswith("^"):
        raise UsageError(
            "a replay reads one topic: tail a single topic, or mark a start and an end event (m)"
        )
    return Selection(topics[0], start, END, None, filter)
