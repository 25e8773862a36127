"""Ordering violations, found as events stream by: per-key sequences, duplicates, event time.

Pure: no Textual, no confluent-kafka. Each detector keeps bounded per-key state
(least recently used keys go first, and are counted) and returns
:class:`Finding` s that name the events involved, what was expected and what
was seen, and the likely cause where the pattern is known.

Duplicate events (``duplicate_event``): the same event id (with its
CloudEvents source) at two offsets of a topic; the same record read twice is
not one. Event time (``event_time_regression``): the ``ce_time`` header, else a
top-level JSON ``time``/``occurredAt``/``eventTime``/``timestamp`` (ISO 8601),
else the record's timestamp, going back for a key by more than the allowed
lateness (1 s by default).

Sequences (``sequence_regression``, ``sequence_duplicate``, ``sequence_gap``)
are per topic, key and partition (Kafka orders a key's records within a
partition only, and partitions are read in any order), and per producer when
an event names one in a ``producer-id`` header or field. They are read from a
header or a JSON field named ``seq``, ``sequence`` or ``version`` (integers;
other names and nested paths such as ``meta.seq`` can be given); the default
names are used on a topic only once the data shows one rises per key
(:class:`SequenceChecks`). Keyless records are no sequence unless asked for.
Event time is compared per key within a partition too, and a JSON number is
read as an epoch time by its magnitude (:func:`epoch_ms`). A gap is held, not reported at
once: when the missing number arrives later it is one reordering (reported
as a regression: adjacent records swapped), and only gaps still open when the
key has moved :data:`GAP_GRACE` records on, or at :meth:`SequenceDetector.flush`,
are reported as gaps. The same sequence again with the same event id is the
same event delivered twice: that is ``duplicate_event``'s to report.

Compacted topics (:class:`Compaction`, named by whoever knows the topics'
``cleanup.policy``) legitimately lose superseded versions. Kafka's cleaner
keeps, per key, its latest version below the cleaned point and everything
after it, so a key's sequence stays contiguous; but a tombstone there starts
the key's sequence over, a read racing the cleaner can jump over removed
versions (not a gap when at least as many offsets are missing in between), and
a cause may be gone (no orphans once records were removed: they are counted).
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, NamedTuple, Protocol

from evtui.core import native
from evtui.core.decode import raw_value
from evtui.core.event import Event
from evtui.core.ids import EventIds
from evtui.core.problems import RecordProblems, offer_all

WARNING, INFO = "warning", "info"
SEQUENCE_NAMES = ("seq", "sequence", "version")
PRODUCER_NAMES = ("producer-id", "producer_id", "producerId")
GAP_GRACE = 50  # records of a key after which a sequence gap that was not filled is reported
MAX_GAPS = 16  # open gaps kept per key


@dataclass(frozen=True)
class Finding:
    """One violation, with everything needed to explain it."""

    kind: str
    severity: str
    topic: str
    partition: int
    offset: int
    key: str | None
    refs: tuple[str, ...]
    expected: str
    seen: str
    explanation: str

    def to_json(self) -> dict:
        return {
            "kind": self.kind,
            "severity": self.severity,
            "topic": self.topic,
            "partition": self.partition,
            "offset": self.offset,
            "key": self.key,
            "refs": list(self.refs),
            "expected": self.expected,
            "seen": self.seen,
            "explanation": self.explanation,
        }


_last_ref: tuple[Event | None, str] = (None, "")  # every detector asks for the same event's


def ref(event: Event) -> str:
    """``topic/partition/offset`` (the last event's is remembered)."""
    global _last_ref
    last, text = _last_ref
    if last is event:
        return text
    text = f"{event.topic}/{event.partition}/{event.offset}"
    _last_ref = (event, text)
    return text


def key_text(event: Event) -> str | None:
    return None if event.key is None else _text(event.key)


def sequence_of(event: Event, names: tuple[str, ...] = SEQUENCE_NAMES) -> int | None:
    """The event's sequence number: a header, else a JSON field (integers only, below
    2**126 in size: a larger number is an id or a hash, no counter).

    A name is a header name (any case) or a JSON path; ``meta.seq`` walks into
    nested objects. The first name found wins.
    """
    return _as_sequence(field_of(event, names))


# A number of 127 bits or more is no counter (a hash, an id): not a sequence. (Within this,
# every difference of two sequence numbers fits the extension's 128-bit integers.)
SEQUENCE_MIN, SEQUENCE_LIMIT = -(2**126), 2**126


def _as_sequence(value: object) -> int | None:
    if isinstance(value, bytes):
        try:
            value = int(value.decode("ascii").strip())
        except (UnicodeDecodeError, ValueError):
            return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value if SEQUENCE_MIN <= value < SEQUENCE_LIMIT else None
    return None


def field_of(event: Event, names: tuple[str, ...]) -> object:
    """A header's bytes (any case, the last one), else a JSON value by path; None if absent."""
    return _field(event, _spec(names))


_Spec = tuple[frozenset[str], tuple[tuple[str, list[str]], ...]]


def _field(event: Event, spec: _Spec) -> object:
    lowered, paths = spec
    for name, raw in reversed(event.headers):
        if raw is not None and name.lower() in lowered:
            return raw
    fields = event.peek_fields()
    if not fields:
        return None
    for head, rest in paths:
        if head not in fields:
            continue
        value = raw_value(fields[head])
        for part in rest:
            value = value.get(part) if isinstance(value, dict) else None
        if value is not None:
            return value
    return None


@lru_cache(maxsize=64)
def _spec(names: tuple[str, ...]) -> _Spec:
    """Names as header names (lower case) and as JSON paths (the top-level field, the rest)."""
    paths = tuple((head, rest.split(".") if rest else []) for head, _, rest in
                  (name.partition(".") for name in names))  # fmt: skip
    return frozenset(n.lower() for n in names), paths


def _as_producer(value: object) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return None if value is None or isinstance(value, dict | list) else str(value)


class KeyState(OrderedDict):
    """Per-key state, least recently used first, at most ``limit`` keys (``evicted`` counts)."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        self.evicted = 0

    def put(self, key: object, value: object) -> None:
        """Add a key, the least recently used one out first when full (counted)."""
        if len(self) >= self.limit:
            self.popitem(last=False)
            self.evicted += 1
        self[key] = value


class Compaction:
    """Offsets missing so far in each partition of the compacted topics read.

    The cleaner removes versions a later record of their key supersedes (and,
    later, tombstones), so on a compacted topic a cause may be gone, and a read
    that races the cleaner may see a key jump over versions it removed. Offsets
    are counted from 0: what is missing before a partition's first record was
    removed too. :meth:`see` may be offered the same event more than once (each
    detector that cares offers it).
    """

    def __init__(self, topics: Iterable[str] = ()) -> None:
        self.topics = frozenset(topics)
        self.last: dict[tuple[str, int], int] = {}
        self.missing: dict[tuple[str, int], int] = {}  # offsets missing so far, per partition
        self.removed = 0  # offsets missing so far, in every partition

    def see(self, event: Event) -> bool:
        """Count the offsets missing before ``event``; True when its topic is compacted."""
        if event.topic not in self.topics:
            return False
        tp = (event.topic, event.partition)
        last = self.last.get(tp, -1)
        if event.offset > last:
            self.last[tp] = event.offset
            if event.offset > last + 1:
                skipped = event.offset - last - 1
                self.missing[tp] = self.missing.get(tp, 0) + skipped
                self.removed += skipped
        return True

    def missing_before(self, event: Event) -> int:
        """Offsets missing in the event's partition up to it."""
        return self.missing.get((event.topic, event.partition), 0)


# the first and last missing numbers, the record that jumped over them, the number before it,
# and the number of the record that jumped (the higher one a late record comes after)
_Gap = tuple[int, int, str, int, int]


@dataclass
class _Seq:
    last: int
    last_ref: str
    last_id: str | None
    seen_since: int = 0  # records of this key since the oldest open gap
    missing: int | None = None  # compacted topics: offsets missing in the partition up to last
    # runs of missing numbers (see _Gap)
    gaps: list[_Gap] = field(default_factory=list)

    def fill(self, seq: int) -> _Gap | None:
        """Take ``seq`` out of the open gaps; the gap it was in, or None."""
        for i, gap in enumerate(self.gaps):
            first, last, jumped, before, higher = gap
            if first <= seq <= last:
                rest = [
                    (first, seq - 1, jumped, before, higher),
                    (seq + 1, last, jumped, before, higher),
                ]
                self.gaps[i : i + 1] = [g for g in rest if g[0] <= g[1]]
                return gap
        return None


class SequenceDetector:
    """Per-key sequence regressions, duplicates and gaps.

    Keyless records are spread over partitions with no order between them: they
    are no sequence, unless ``keyless`` asks to check them per partition.
    ``rose`` tells, after each :meth:`offer`, whether the number went up from
    the key's last one (None: the key's first, or not a number).
    """

    def __init__(
        self,
        max_keys: int = 100_000,
        names: tuple[str, ...] = SEQUENCE_NAMES,
        producers: tuple[str, ...] = PRODUCER_NAMES,
        compaction: Compaction | None = None,
        keyless: bool = False,
    ) -> None:
        self.keyless = keyless
        self.rose: bool | None = None
        self._specs = _spec(names), _spec(producers) if producers else None
        self.keys = KeyState(max_keys)
        # Compacted topics: a tombstone ends a key's sequence (a new life starts over), and
        # a jump over versions the cleaner may have removed is not a gap (counted here).
        self.compaction = compaction or Compaction()
        self.compacted_jumps = 0

    def offer(self, event: Event) -> list[Finding]:
        compaction = self.compaction
        compacted = compaction.topics and compaction.see(event)
        if compacted and event.value is None:
            return self._deleted(event)
        self.rose = None
        if event.key is None and not self.keyless:
            return []
        names, producers = self._specs
        seq = _as_sequence(_field(event, names))
        if seq is None:
            return []
        key = self._key(event, producers)
        state = self.keys.get(key)
        here, eid = ref(event), event.ids.event_id
        if state is None:
            found = self._make_room()
            self.keys[key] = state = _Seq(seq, here, eid)
        else:
            self.keys.move_to_end(key)
            if seq != state.last or eid is None or eid != state.last_id:
                self.rose = seq > state.last  # (the same event again is no step)
            found = self._compare(state, seq, event, here, eid)
            found += self._overdue(state, event)
        if compacted and state.last_ref == here:
            state.missing = compaction.missing_before(event)
        return found

    def _key(self, event: Event, producers: _Spec | None) -> tuple:
        """Topic, key, producer and partition: Kafka orders a key's records per partition
        only, and partitions are read in any order (one after another, or side by side)."""
        producer = None if producers is None else _as_producer(_field(event, producers))
        return event.topic, event.key, producer, event.partition

    def _compare(
        self, state: _Seq, seq: int, event: Event, here: str, eid: str | None
    ) -> list[Finding]:
        last = state.last
        if seq == last + 1:
            state.last, state.last_ref, state.last_id = seq, here, eid
            return []
        if seq > last + 1:
            if state.missing is None or not self._removed(state, seq, event):
                state.gaps.append((last + 1, seq - 1, here, last, seq))
            state.last, state.last_ref, state.last_id = seq, here, eid
            if len(state.gaps) > MAX_GAPS:  # bounded: the oldest open gap is reported now
                return list(self._report([state.gaps.pop(0)], key_text(event)))
            return []
        if seq == last:
            if eid is not None and eid == state.last_id:
                return []  # the same event again: duplicate_event reports it
            return [
                _finding(
                    "sequence_duplicate", event, (state.last_ref, here),
                    expected=f"sequence {last + 1}", seen=f"sequence {seq} again",
                    explanation=f"sequence {seq} of key {key_text(event)} was used by two "
                    "different events (two producers, or a retried write given a new id)",
                )
            ]  # fmt: skip
        filled = state.fill(seq)
        if filled is not None:
            after_ref, higher = filled[2], filled[4]
            return [
                _finding(
                    "sequence_regression", event, (after_ref, here),
                    expected=f"sequence {seq} before sequence {higher} at {place(after_ref)}",
                    seen=f"sequence {seq} after sequence {higher} at {place(after_ref)}",
                    explanation="adjacent records swapped: the later one was written first "
                    "(producer retries without idempotence, or max.in.flight > 1)",
                )
            ]  # fmt: skip
        return [
            _finding(
                "sequence_regression", event, (state.last_ref, here),
                expected=f"sequence above {last}",
                seen=f"sequence {seq} after sequence {last} at {place(state.last_ref)}",
                explanation=f"sequence went back from {last} to {seq} (a replay, a reset "
                "producer, or a stale write)",
            )
        ]  # fmt: skip

    def _removed(self, state: _Seq, seq: int, event: Event) -> bool:
        """True (and counted) when the cleaner may have removed the numbers jumped over.

        That needs at least as many offsets missing between the key's last record
        and this one, in the same partition, as numbers are missing.
        """
        removed = self.compaction.missing_before(event) - (state.missing or 0)
        if removed < seq - state.last - 1:
            return False
        self.compacted_jumps += 1
        return True

    def _deleted(self, event: Event) -> list[Finding]:
        """A tombstone on a compacted topic ends the key's sequence; its open gaps are reported."""
        state = self.keys.pop(self._key(event, self._specs[1]), None)
        return [] if state is None else list(self._gaps(state, key_text(event)))

    def _overdue(self, state: _Seq, event: Event) -> list[Finding]:
        if not state.gaps:
            state.seen_since = 0
            return []
        state.seen_since += 1
        if state.seen_since < GAP_GRACE:
            return []
        state.seen_since = 0
        return list(self._gaps(state, key_text(event)))

    def _gaps(self, state: _Seq, key: str | None) -> Iterator[Finding]:
        """The open gaps of a key as findings (and closed)."""
        gaps, state.gaps = state.gaps, []
        return self._report(gaps, key)

    def _report(self, gaps: list[_Gap], key: str | None) -> Iterator[Finding]:
        """One finding per run of missing numbers."""
        for first, last, jumped, before, _ in gaps:
            what = f"{first}" if first == last else f"{first}..{last}"
            topic, partition, offset = parse_ref(jumped)
            yield Finding(
                "sequence_gap", WARNING, topic, partition, offset, key, (jumped,),
                expected=f"sequence {what} after {before}", seen="never",
                explanation=f"sequence {what} of key {key} never arrived (lost, filtered "
                "out, or written to another topic or partition)",
            )  # fmt: skip

    def _make_room(self) -> list[Finding]:
        """Forget the least recently seen key when full; its open gaps are reported."""
        if len(self.keys) < self.keys.limit:
            return []
        (_, key, _, _), state = self.keys.popitem(last=False)
        self.keys.evicted += 1
        return list(self._gaps(state, None if key is None else _text(key)))

    def flush(self, topics: Iterable[str] | None = None) -> list[Finding]:
        """Every gap still open (the end of a scan), of ``topics`` when given."""
        wanted = None if topics is None else set(topics)
        found: list[Finding] = []
        for (topic, key, _, _), state in self.keys.items():
            if state.gaps and (wanted is None or topic in wanted):
                found += self._gaps(state, None if key is None else _text(key))
        return found


LEARN_STEPS = 8  # steps (a key's number after its last one) before a default field is judged
MIN_RISING = 0.5  # the share of steps that go up for a field to be a sequence
MAX_HELD = 10_000  # findings held per topic and field while the field is being judged


@dataclass
class _Trial:
    """A default field on one topic while it is judged: its steps, and findings held back."""

    steps: int = 0
    rising: int = 0
    held: list[Finding] = field(default_factory=list)
    rejected: bool = False

    def verdict(self, final: bool) -> bool | None:
        """True: a sequence; False: not one; None: too few steps yet."""
        if self.steps < (1 if final else LEARN_STEPS):
            return None
        return self.rising >= MIN_RISING * self.steps


class SequenceChecks:
    """Sequence checks of every topic, on the field that is a sequence there.

    Fields the user names are used as given. The default names (``seq``,
    ``sequence``, ``version``) are judged per topic from the data: a field is
    a sequence on a topic when, over its first :data:`LEARN_STEPS` steps (a
    key's number after its previous one), at least half go up. A schema
    version that stays ``1`` never goes up, so it is not one and raises
    nothing. Findings are held until the field is judged; the first default
    found to be a sequence is the topic's field (:meth:`fields`).
    """

    def __init__(
        self,
        max_keys: int = 100_000,
        names: tuple[str, ...] = SEQUENCE_NAMES,
        producers: tuple[str, ...] = PRODUCER_NAMES,
        compaction: Compaction | None = None,
        *,
        learn: bool = True,
        keyless: bool = False,
    ) -> None:
        self.learn = learn
        groups = [(n,) for n in names] if learn else [names]
        self.detectors = {
            ",".join(g): SequenceDetector(max_keys, g, producers, compaction, keyless)
            for g in groups
        }
        self.chosen: dict[str, str | None] = {}  # topic -> its field (None: no field is one)
        self.trials: dict[str, dict[str, _Trial]] = {}  # topics being judged
        self.held_over = 0  # findings not held (beyond MAX_HELD) while judging

    @property
    def keys(self) -> KeyState:
        """The per-key state of the field used most (for the memory notes)."""
        return max((d.keys for d in self.detectors.values()), key=lambda k: k.evicted)

    @property
    def compacted_jumps(self) -> int:
        return sum(d.compacted_jumps for d in self.detectors.values())

    def offer(self, event: Event) -> list[Finding]:
        if not self.learn:
            return next(iter(self.detectors.values())).offer(event)
        topic = event.topic
        if topic in self.chosen:
            name = self.chosen[topic]
            return [] if name is None else self.detectors[name].offer(event)
        trials = self.trials.setdefault(topic, {})
        for name, detector in self.detectors.items():
            trial = trials.get(name)
            if trial is not None and trial.rejected:
                continue
            found = detector.offer(event)
            if detector.rose is None and not found:
                continue
            if trial is None:
                trial = trials[name] = _Trial()
            if detector.rose is not None:
                trial.steps += 1
                trial.rising += detector.rose
            self._hold(trial, found)
        return self._judge(topic, final=False)

    def _hold(self, trial: _Trial, found: list[Finding]) -> None:
        room = MAX_HELD - len(trial.held)
        trial.held += found[:room]
        self.held_over += max(0, len(found) - room)

    def _judge(self, topic: str, final: bool) -> list[Finding]:
        """Choose the topic's field once one is a sequence (or none can be); its findings."""
        trials = self.trials[topic]
        verdicts = {name: t.verdict(final) for name, t in trials.items()}
        for name in self.detectors:  # the order the names were given
            if verdicts.get(name):
                return self._choose(topic, name)
            if verdicts.get(name) is False and not trials[name].rejected:
                trials[name].rejected = True
                trials[name].held = []
        undecided = [n for n in self.detectors if verdicts.get(n) is None]
        if final or (trials and not undecided and len(trials) == len(self.detectors)):
            return self._choose(topic, None)
        return []

    def _choose(self, topic: str, name: str | None) -> list[Finding]:
        self.chosen[topic] = name
        trials = self.trials.pop(topic)
        return [] if name is None else trials[name].held

    def flush(self) -> list[Finding]:
        found = []
        for topic in list(self.trials):
            found += self._judge(topic, final=True)
        for name, detector in self.detectors.items():
            topics = [t for t, chosen in self.chosen.items() if chosen == name]
            found += detector.flush(None if not self.learn else topics)
        return found

    def fields(self) -> dict[str, str | None]:
        """Per topic, the field its sequence check used (None: no field was a sequence)."""
        if not self.learn:
            return {}
        return dict(sorted(self.chosen.items()))

    def carry(self, other: SequenceChecks) -> None:
        """Keep the fields ``other`` chose (after a restart)."""
        self.chosen.update(other.chosen)


def _text(key: bytes) -> str:
    try:
        return key.decode("utf-8")
    except UnicodeDecodeError:
        return key.hex()


def place(reference: str) -> str:
    """``topic/partition/offset`` as findings name a record: ``topic[partition]@offset``."""
    topic, partition, offset = parse_ref(reference)
    return f"{topic}[{partition}]@{offset}"


def parse_ref(reference: str) -> tuple[str, int, int]:
    """``topic/partition/offset`` (topics may contain ``/``) back into its parts."""
    topic, partition, offset = reference.rsplit("/", 2)
    return topic, int(partition), int(offset)


def _finding(
    kind: str, event: Event, refs: tuple[str, ...], *, expected: str, seen: str,
    explanation: str, severity: str = WARNING,
) -> Finding:  # fmt: skip
    return Finding(
        kind, severity, event.topic, event.partition, event.offset, key_text(event), refs,
        expected, seen, explanation,
    )  # fmt: skip


# -- duplicate events -------------------------------------------------------------------------


class DuplicateDetector:
    """The same event (by id; CloudEvents by source and id) at two offsets of a topic.

    The later copy is the duplicate: in one partition the later offset; across
    partitions (read in any order) the later record time, else the one read later.
    """

    def __init__(self, max_ids: int = 1_000_000) -> None:
        # (topic, source, id) -> (ref, hash of the bytes, record time, partition)
        self.seen = KeyState(max_ids)

    def offer(self, event: Event) -> list[Finding]:
        ids = event.ids
        if ids.event_id is None:
            return []
        identity = (event.topic, ids.source, ids.event_id)
        here, digest = ref(event), _digest(event)
        first = self.seen.get(identity)
        if first is None:
            self.seen.put(identity, (here, digest, event.timestamp, event.partition))
            return []
        self.seen.move_to_end(identity)
        first_ref, first_digest, first_ms, first_partition = first
        if first_ref == here:
            return []  # the same record read again (a seek, a reconnect): not a duplicate
        if first_partition != event.partition and event.timestamp < first_ms:
            # this copy was written first: the one read before is the duplicate
            self.seen[identity] = (here, digest, event.timestamp, event.partition)
            return [self._finding(event, here, first_ref, digest == first_digest, ids)]
        return [self._finding(event, first_ref, here, digest == first_digest, ids)]

    @staticmethod
    def _finding(
        event: Event, first_ref: str, later_ref: str, same: bool, ids: EventIds
    ) -> Finding:
        what = "byte for byte" if same else "with other content"
        cause = (
            "delivered twice: a producer retry without idempotence, or a replay"
            if same
            else "an id given to two different events"
        )
        name = ids.event_id if ids.source is None else f"{ids.source} {ids.event_id}"
        topic, partition, offset = parse_ref(later_ref)
        return Finding(
            "duplicate_event", WARNING, topic, partition, offset, key_text(event),
            (first_ref, later_ref),
            expected=f"event {name} once", seen=f"again at {later_ref}, {what}",
            explanation=f"the same event {what} at two offsets: {cause}",
        )  # fmt: skip


def _digest(event: Event) -> int:
    return hash((event.key, event.value, event.headers))


# -- event time -------------------------------------------------------------------------------

TIME_HEADERS = ("ce_time", "ce-time")
TIME_FIELDS = ("time", "occurredAt", "eventTime", "timestamp")


def event_time_ms(event: Event) -> tuple[int, str]:
    """The event's own time and where it came from: a header, a JSON field, else the record."""
    for name, raw in reversed(event.headers):
        if raw is not None and name.lower() in TIME_HEADERS:
            parsed = _parse_time(raw.decode("utf-8", "replace"))
            if parsed is not None:
                return parsed, name
    fields = event.peek_fields()
    if fields:
        for name in TIME_FIELDS:
            value = raw_value(fields[name]) if name in fields else None
            parsed = _parse_time(value) if isinstance(value, str) else epoch_ms(value)
            if parsed is not None:
                return parsed, name
    return event.timestamp, "record timestamp"


def _parse_time(text: str) -> int | None:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


# A number read as an epoch time: its magnitude tells the unit, and it must fall in
# 2000-01-01 .. 2100-01-01 in that unit (else it is not a time: a duration, a count).
EPOCH_FIRST_S, EPOCH_LAST_S = 946_684_800, 4_102_444_800
EPOCH_UNITS = ((1, "s"), (1_000, "ms"), (1_000_000, "us"), (1_000_000_000, "ns"))


def epoch_ms(value: object) -> int | None:
    """A JSON number as epoch milliseconds: seconds, ms, us or ns by magnitude; else None.

    ``1733300000`` is seconds, ``1733300000000`` milliseconds, ``1733300000000000``
    microseconds and ``1733300000000000000`` nanoseconds; a number that is none of
    these between the years 2000 and 2100 is not an epoch time.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if value != value or value in (float("inf"), float("-inf")):
        return None
    for per_second, _unit in EPOCH_UNITS:
        if EPOCH_FIRST_S * per_second <= value < EPOCH_LAST_S * per_second:
            return int(value * 1000 // per_second)
    return None


class EventTimeDetector:
    """Event time going back for a key, by more than ``lateness_ms``, within a partition
    (the order Kafka keeps; partitions are read in any order)."""

    def __init__(self, lateness_ms: int = 1_000, max_keys: int = 100_000) -> None:
        self.lateness_ms = lateness_ms
        self.keys = KeyState(max_keys)  # (topic, key) -> (latest time, its ref, last late id)

    def offer(self, event: Event) -> list[Finding]:
        if event.key is None:
            return []
        when, source = event_time_ms(event)
        key = (event.topic, event.key, event.partition)
        latest = self.keys.get(key)
        here = ref(event)
        if latest is None:
            self.keys.put(key, (when, here, None))
            return []
        self.keys.move_to_end(key)
        latest_ms, latest_ref, late_id = latest
        if when >= latest_ms:
            self.keys[key] = (when, here, late_id)
            return []
        if latest_ms - when <= self.lateness_ms:
            return []
        eid = event.ids.event_id
        if eid is not None and eid == late_id:
            return []  # the late event delivered again: one finding (and a duplicate_event)
        self.keys[key] = (latest_ms, latest_ref, eid)
        back = (latest_ms - when) / 1000
        return [
            _finding(
                "event_time_regression", event, (latest_ref, here),
                expected=f"{source} at or after {_iso(latest_ms)}",
                seen=f"{_iso(when)} ({back:,.3f} s earlier)",
                explanation=f"the event time of key {key_text(event)} went back {back:,.3f} s "
                f"(allowed: {self.lateness_ms / 1000:g} s): a late or re-sent event, or a "
                "producer clock that is wrong",
            )
        ]  # fmt: skip


def _iso(ms: int) -> str:
    import time as _time

    seconds, millis = divmod(ms, 1000)
    return _time.strftime("%Y-%m-%dT%H:%M:%S", _time.gmtime(seconds)) + f".{millis:03d}Z"


# -- causes: inversions and orphans -----------------------------------------------------------

ORPHAN_GRACE_MS = 60_000  # a cause not seen this long (record time) after its effect: orphan

TP = tuple[str, int]


class Watermark:
    """How far a read has come in record time, over every partition it reads.

    Partitions are read side by side or one after another (a scan drains one
    partition's backlog before the next), so the time of the latest record read
    says nothing about a partition not read yet. The watermark is the minimum,
    over the partitions still being read, of the latest record time read in
    each; a partition named by :meth:`expect` and not read yet holds it back
    (None: nothing may be judged yet). A partition that is done or idle (read
    to its end, :meth:`rest`) does not hold it back until it delivers again;
    when no partition holds it, it is the latest record time read anywhere.
    """

    def __init__(self) -> None:
        self.progress: dict[TP, int] = {}  # the latest record time read, per partition
        self.unread: set[TP] = set()  # expected, nothing read yet
        self.resting: set[TP] = set()  # done or idle
        self.latest: int | None = None
        self._value: int | None = None
        self._low: TP | None = None  # the partition holding the watermark
        self._stale = True

    def expect(self, partitions: Iterable[TP]) -> None:
        """Partitions the read covers: each holds the watermark back until it is read."""
        for tp in partitions:
            if tp not in self.progress and tp not in self.resting:
                self.unread.add(tp)
        self._stale = True

    def rest(self, partitions: Iterable[TP]) -> None:
        """Partitions read to their end (done, or idle for now): they hold nothing back."""
        for tp in partitions:
            self.resting.add(tp)
            self.unread.discard(tp)
        self._stale = True

    def see(self, tp: TP, at: int) -> None:
        if tp in self.resting:
            self.resting.discard(tp)
            self._stale = True
        if self.unread and tp in self.unread:
            self.unread.discard(tp)
            self._stale = True
        last = self.progress.get(tp)
        if last is None or at > last:
            self.progress[tp] = at
            if last is None or tp == self._low:
                self._stale = True
        if self.latest is None or at > self.latest:
            self.latest = at

    def value(self) -> int | None:
        """The watermark (record time, ms); None while an expected partition is unread."""
        if self._stale:
            self._stale = False
            self._value, self._low = self._compute()
        return self._value

    def _compute(self) -> tuple[int | None, TP | None]:
        if self.unread:
            return None, None
        resting = self.resting
        active = [(at, tp) for tp, at in self.progress.items() if tp not in resting]
        if not active:
            return self.latest, None
        at, tp = min(active)
        return at, tp

    def carry(self, other: Watermark) -> None:
        """What ``other`` knew of the partitions (not their progress): after a restart."""
        self.expect(other.unread | set(other.progress))
        self.rest(other.resting)


@dataclass
class _Waiting:
    """An effect whose cause has not been seen yet."""

    cause: str
    effect_ref: str
    effect_ms: int
    effect: tuple[str, int, int, str | None]  # topic, partition, offset, key
    kind: tuple[str, str | None] = ("", None)  # the effect's topic and event type


class CausalDetector:
    """Effects produced before their causes, and causes never seen.

    Kinds ``causal_inversion`` and ``orphan``.

    Causes are the causation ids an event names (see ``core.ids``); an event
    is known by its event id. As in the trace engine, an event whose parent
    span (B3, Jaeger) is another event's span (same trace) is that event's
    effect too: only for inversions, since a parent span need not be an event.
    Produced means the record's timestamp. A cause seen after its effect
    settles the wait. One not seen once the :class:`Watermark` over every
    partition read has passed ``grace_ms`` (of record time) after its effect,
    or by :meth:`flush`, is missing. An effect delivered twice is reported once
    (the duplicate is ``duplicate_event``'s).

    A missing cause is an ``orphan`` only when it could be in the topics read:
    when causes of effects of the same kind (topic and event type) have been
    found there. Otherwise the cause most likely lives on a topic not read, and
    the effect is counted as not judged (``outside``). ``strict`` makes every
    missing cause an orphan.
    """

    def __init__(
        self,
        tolerance_ms: int = 0,
        grace_ms: int = ORPHAN_GRACE_MS,
        max_events: int = 1_000_000,
        max_waiting: int = 100_000,
        mid_stream: bool = False,
        compaction: Compaction | None = None,
        strict: bool = False,
    ) -> None:
        self.tolerance_ms = tolerance_ms
        self.grace_ms = grace_ms
        self.mark = Watermark()  # record time over every partition read
        # Kinds of effect (topic, event type) whose causes were found in the topics read:
        # only their missing causes are orphans (unless strict); the rest are counted.
        self.strict = strict
        self.evidence = KeyState(10_000)
        self.outside = 0  # effects not judged: their causes are likely on topics not read
        self._undecided: deque[_Waiting] = deque()  # missing causes waiting for evidence
        # A range that starts mid-stream: an effect within grace_ms of the first record
        # may have its cause just before the range; it is not judged (counted instead).
        self.mid_stream = mid_stream
        self.unjudged = 0
        # Once the cleaner has removed records of a compacted topic read, any cause may
        # have been among them: effects still waiting are not judged (counted instead).
        self.compaction = compaction or Compaction()
        self.compacted_away = 0
        self.forgotten = 0  # effects not judged: events were forgotten at the memory bound
        self._first_ms: int | None = None
        self.known = KeyState(max_events)  # event id -> (record ms, ref)
        self.waiting: OrderedDict[str, list[_Waiting]] = OrderedDict()  # cause id -> effects
        self.max_waiting = max_waiting
        self.dropped = 0  # waits given up at the bound (not reported as orphans)
        self._said = KeyState(max_waiting)  # (effect id or ref, cause) already reported
        # Span parentage (B3, Jaeger: a parent span id), as the trace engine links events:
        # an effect whose parent span is another event's span. Inversions only: a parent
        # span need not be an event (an HTTP request), so a missing one is no orphan.
        self.spans = KeyState(max_events)  # (trace, span) -> (record ms, ref)
        self.span_waiting: OrderedDict[tuple[str, str], list[_Waiting]] = OrderedDict()
        self._inverted = KeyState(max_waiting)  # (cause ref, effect ref) reported

    def offer(self, event: Event) -> list[Finding]:
        if self.compaction.topics:
            self.compaction.see(event)
        ids = event.ids
        here, at = ref(event), event.timestamp
        self.mark.see((event.topic, event.partition), at)
        if self._first_ms is None or at < self._first_ms:
            self._first_ms = at
        found: list[Finding] = []
        if ids.event_id is not None:
            found += self._arrived(ids.event_id, at, here)
        for cause in ids.causation_ids:
            if not self._first((ids.event_id or here, cause)):
                continue  # this effect and cause were looked at (the effect delivered again)
            known = self.known.get(cause)
            if known is None:
                self._wait(cause, here, at, event)
                continue
            self._found_cause((event.topic, ids.event_type))
            if at < known[0] - self.tolerance_ms:
                found += self._inversion(event, here, at, known)
        if ids.trace_id is not None and (ids.span_id or ids.parent_span_id):
            found += self._spans(event, ids.trace_id, here, at)
        return found + self._overdue() if self.waiting else found

    def _spans(self, event: Event, trace: str, here: str, at: int) -> list[Finding]:
        """Span parentage: this event's span may be awaited; its parent span may be known."""
        ids, found = event.ids, []
        if ids.span_id is not None:
            span = (trace, ids.span_id)
            if span not in self.spans:
                self.spans.put(span, (at, here))
            for wait in self.span_waiting.pop(span, ()):
                found += self._late_cause(wait, here, at, f"span {ids.span_id}")
        parent = ids.parent_span_id
        if parent is not None and self._first((ids.event_id or here, f"span {trace} {parent}")):
            known = self.spans.get((trace, parent))
            if known is not None:
                if at < known[0] - self.tolerance_ms:
                    found += self._inversion(event, here, at, known)
            else:
                where = (event.topic, event.partition, event.offset, key_text(event))
                waits = self.span_waiting.setdefault((trace, parent), [])
                waits.append(_Waiting(parent, here, at, where))
                if len(self.span_waiting) > self.max_waiting:
                    self.span_waiting.popitem(last=False)  # not an orphan: just forgotten
                    self.dropped += 1
        return found

    def _first(self, pair: tuple[str, str]) -> bool:
        """True the first time an (effect, cause) pair is seen (bounded memory)."""
        said = self._said
        if pair in said:
            return False
        said.put(pair, True)
        return True

    def _arrived(self, eid: str, at: int, here: str) -> list[Finding]:
        if eid not in self.known:
            self.known.put(eid, (at, here))
        found = []
        for wait in self.waiting.pop(eid, ()):
            self._found_cause(wait.kind)
            found += self._late_cause(wait, here, at, eid)
        return found

    def _found_cause(self, kind: tuple[str, str | None]) -> None:
        if kind not in self.evidence:
            self.evidence.put(kind, True)

    def _late_cause(self, wait: _Waiting, here: str, at: int, name: str) -> list[Finding]:
        """The cause of an effect seen earlier arrived: an inversion if produced after it."""
        if wait.effect_ms >= at - self.tolerance_ms or not self._newly_inverted(
            here, wait.effect_ref
        ):
            return []
        topic, partition, offset, key = wait.effect
        return [
            Finding(
                "causal_inversion", WARNING, topic, partition, offset, key,
                (here, wait.effect_ref),
                expected=f"the effect produced after its cause {name}",
                seen=f"produced {at - wait.effect_ms:,} ms before it",
                explanation="an effect was written before the event that caused it: "
                "clocks that disagree, or a cause re-sent late",
            )
        ]  # fmt: skip

    def _inversion(self, event: Event, here: str, at: int, known: tuple[int, str]) -> list[Finding]:
        cause_ms, cause_ref = known
        if not self._newly_inverted(cause_ref, here):
            return []  # the same pair linked twice (a causation id and a parent span)
        return [
            _finding(
                "causal_inversion", event, (cause_ref, here),
                expected=f"produced at or after its cause ({cause_ref})",
                seen=f"produced {cause_ms - at:,} ms before it",
                explanation="an effect was written before the event that caused it: clocks "
                "that disagree, or a cause re-sent late",
            )
        ]  # fmt: skip

    def _newly_inverted(self, cause_ref: str, effect_ref: str) -> bool:
        pair = (cause_ref, effect_ref)
        if pair in self._inverted:
            return False
        self._inverted.put(pair, True)
        return True

    def _wait(self, cause: str, here: str, at: int, event: Event) -> None:
        where = (event.topic, event.partition, event.offset, key_text(event))
        kind = (event.topic, event.ids.event_type)
        self.waiting.setdefault(cause, []).append(_Waiting(cause, here, at, where, kind))
        if len(self.waiting) > self.max_waiting:
            self.waiting.popitem(last=False)
            self.dropped += 1

    def _overdue(self) -> list[Finding]:
        now = self.mark.value()
        if now is None:
            return []  # a partition of the range is not read yet: its records may be causes
        found: list[Finding] = []
        while self.waiting:
            cause, waits = next(iter(self.waiting.items()))
            oldest = waits[0].effect_ms if len(waits) == 1 else min(w.effect_ms for w in waits)
            if now - oldest <= self.grace_ms:
                break
            del self.waiting[cause]
            found += self._orphans(waits)
        return found

    def _orphans(self, waits: list[_Waiting], final: bool = False) -> list[Finding]:
        judged = [w for w in waits if not self._near_start(w)]
        self.unjudged += len(waits) - len(judged)
        if judged and self.compaction.removed:
            self.compacted_away += len(judged)
            return []
        if judged and self.known.evicted:  # the cause may be one the bound made us forget
            self.forgotten += len(judged)
            return []
        return [_orphan(w) for w in judged if self._could_be_read(w, final)]

    @property
    def not_read(self) -> int:
        """Effects not judged (so far) because their causes are likely on topics not read."""
        return self.outside + len(self._undecided)

    def _could_be_read(self, wait: _Waiting, final: bool) -> bool:
        """True when the missing cause could be in the topics read (see the class)."""
        if self.strict or wait.kind in self.evidence:
            return True
        if final:
            self.outside += 1
            return False
        self._undecided.append(wait)  # evidence may come later in the read
        if len(self._undecided) > self.max_waiting:
            self._undecided.popleft()
            self.outside += 1
        return False

    def _near_start(self, wait: _Waiting) -> bool:
        first = self._first_ms
        return self.mid_stream and first is not None and wait.effect_ms < first + self.grace_ms

    def flush(self) -> list[Finding]:
        """Every effect still waiting for its cause: orphans (the end of a scan)."""
        found = [f for waits in self.waiting.values() for f in self._orphans(waits, final=True)]
        self.waiting.clear()
        undecided, self._undecided = list(self._undecided), deque()
        found += [_orphan(w) for w in undecided if self._could_be_read(w, final=True)]
        return found

    def carry(self, other: CausalDetector) -> None:
        """Keep what ``other`` learnt (after a restart): partitions, kinds with causes found."""
        self.mark.carry(other.mark)
        for kind in other.evidence:
            self._found_cause(kind)
        self.outside += other.outside + len(other._undecided)


def _orphan(wait: _Waiting) -> Finding:
    topic, partition, offset, key = wait.effect
    return Finding(
        "orphan", WARNING, topic, partition, offset, key, (wait.effect_ref,),
        expected=f"its cause {wait.cause}", seen="never",
        explanation=f"the event names cause {wait.cause}, which was not seen (lost, not "
        "produced, or outside the range read)",
    )  # fmt: skip


# -- offsets, and all detectors together ------------------------------------------------------


class OffsetGapDetector:
    """Offsets skipped within a partition: information only (transaction markers, compaction)."""

    def __init__(self) -> None:
        self.last: dict[tuple[str, int], int] = {}

    def offer(self, event: Event) -> list[Finding]:
        tp = (event.topic, event.partition)
        last = self.last.get(tp)
        self.last[tp] = event.offset
        if last is None or event.offset <= last + 1:
            return []
        skipped = event.offset - last - 1
        return [
            _finding(
                "offset_gap", event, (f"{event.topic}/{event.partition}/{last}", ref(event)),
                expected=f"offset {last + 1}", seen=f"offset {event.offset} ({skipped:,} skipped)",
                explanation="offsets without records: transaction markers, aborted "
                "transactions or compaction (usually harmless)",
                severity=INFO,
            )
        ]  # fmt: skip


KINDS = (
    "sequence_regression",
    "sequence_duplicate",
    "sequence_gap",
    "event_time_regression",
    "causal_inversion",
    "duplicate_event",
    "orphan",
    "offset_gap",
)


class PluginDetector(Protocol):
    """A detector a plugin adds: its own finding kinds, run beside the built-ins.

    It sees every event in stream order (``offer``) and may report findings at
    the end (``finish``); it keeps its own state bounded. An exception raised on
    an event is a problem of that record, as for the built-ins.
    """

    def offer(self, event: Event) -> Iterable[Finding]: ...

    def finish(self) -> Iterable[Finding]: ...


DetectorFactory = Callable[[], PluginDetector]
_plugin_detectors: tuple[tuple[tuple[str, ...], DetectorFactory], ...] = ()


def set_plugin_detectors(specs: Iterable[tuple[tuple[str, ...], DetectorFactory]]) -> None:
    """The plugins' detectors (their kinds and a factory) every new :class:`Checker` runs."""
    global _plugin_detectors
    _plugin_detectors = tuple((tuple(kinds), factory) for kinds, factory in specs)


def all_kinds() -> tuple[str, ...]:
    """The built-in finding kinds, then the plugins' (in the order they registered)."""
    extra = [k for kinds, _ in _plugin_detectors for k in kinds if k not in KINDS]
    return KINDS + tuple(dict.fromkeys(extra))


def kind_rank(kind: str) -> int:
    """Where a kind sorts among :func:`all_kinds` (unknown ones last)."""
    kinds = all_kinds()
    return kinds.index(kind) if kind in kinds else len(kinds)


class Checker:
    """Every detector over one stream; keeps the findings of the kinds asked for.

    Whoever reads the stream tells the checker which partitions it covers
    (:meth:`expect`) and when one is read to its end (:meth:`rest`), so that
    orphans are judged on a watermark over all of them (see :class:`Watermark`).
    ``sequence_names`` given by the user are used as given; the defaults are
    judged per topic (:class:`SequenceChecks`).
    """

    def __init__(
        self,
        kinds: tuple[str, ...] | None = None,
        *,
        lateness_ms: int = 1_000,
        tolerance_ms: int = 0,
        max_keys: int = 100_000,
        max_events: int = 1_000_000,
        mid_stream: bool = False,
        sequence_names: tuple[str, ...] = SEQUENCE_NAMES,
        producer_names: tuple[str, ...] = PRODUCER_NAMES,
        compacted: Iterable[str] = (),
        keyless_sequences: bool = False,
        strict_orphans: bool = False,
        learn_sequences: bool | None = None,
    ) -> None:
        known = all_kinds()
        kinds = known if kinds is None else kinds
        unknown = set(kinds) - set(known)
        if unknown:
            raise ValueError(f"unknown kind {sorted(unknown)[0]!r} (kinds: {', '.join(known)})")
        self.kinds = frozenset(kinds)
        self.plugins = [f() for ks, f in _plugin_detectors if self.kinds.intersection(ks)]
        compaction = Compaction(compacted)  # the topics whose cleanup.policy compacts
        learn = sequence_names == SEQUENCE_NAMES if learn_sequences is None else learn_sequences
        self._sequences = SequenceChecks(
            max_keys, sequence_names, producer_names, compaction, learn=learn,
            keyless=keyless_sequences,
        )  # fmt: skip
        self._causes = CausalDetector(
            tolerance_ms, max_events=max_events, max_waiting=min(100_000, max_events),
            mid_stream=mid_stream, compaction=compaction, strict=strict_orphans,
        )  # fmt: skip
        self.duplicates = DuplicateDetector(max_events)
        self.times = EventTimeDetector(lateness_ms, max_keys)
        self.offsets = OffsetGapDetector()
        self.detectors = (self._sequences, self.duplicates, self.times, self._causes, self.offsets)
        # every detector's state in the extension, where built (the same findings)
        groups = [(n,) for n in sequence_names] if learn else [sequence_names]
        self._native = native.checks(
            max_events=max_events, max_keys=max_keys, max_waiting=min(100_000, max_events),
            lateness_ms=lateness_ms, tolerance_ms=tolerance_ms, mid_stream=mid_stream,
            strict=strict_orphans, groups=groups, producers=producer_names, learn=learn,
            keyless=keyless_sequences, max_held=MAX_HELD, compacted=sorted(compaction.topics),
            event_time_ms=event_time_ms, digest=_digest,
            sequence_fields=_sequence_fields(groups, producer_names),
        )  # fmt: skip
        self.findings: list[Finding] = []
        self.scanned = 0

    @property
    def detaches(self) -> bool:
        """The checks run in the extension without the GIL, so reading the next batch in
        another thread overlaps them (see ``commands.trace.scan``)."""
        return self._native is not None

    @property
    def sequences(self) -> SequenceChecks | _NativeSequences:
        """The sequence checks (their state in the extension, where it is used)."""
        state = self._native
        return self._sequences if state is None else _NativeSequences(state, self._sequences)

    @property
    def causes(self) -> CausalDetector | _NativeCauses:
        """The causal detector (its state in the extension, where it is used)."""
        state = self._native
        return self._causes if state is None else _NativeCauses(state, self._causes)

    def expect(self, partitions: Iterable[tuple[str, int]]) -> None:
        """The partitions the read covers (each holds orphan judgement back until read)."""
        if self._native is not None:
            self._native.expect(list(partitions))
        else:
            self._causes.mark.expect(partitions)

    def rest(self, partitions: Iterable[tuple[str, int]]) -> None:
        """Partitions read to their end (for now): they no longer hold judgement back."""
        if self._native is not None:
            self._native.rest(list(partitions))
        else:
            self._causes.mark.rest(partitions)

    def carry(self, other: Checker) -> None:
        """Start from what ``other`` learnt of the stream (a live check restarted after a hole)."""
        self.causes.carry(other.causes)
        self.sequences.carry(other.sequences)

    def offer(self, event: Event) -> None:
        if self._native is None:
            self.scanned += 1
            for detector in self.detectors:
                self._keep(detector.offer(event))
            self._offer_plugins(event)
            return
        batch = [event]
        found, failed = self._native.offer_batch(
            batch, native.builtin_chain(), *native.id_rules(batch)
        )
        self.scanned += 1
        self._keep(_findings(found))
        for _, exc in failed:
            raise exc
        self._offer_plugins(event)

    def _offer_plugins(self, event: Event) -> None:
        for detector in self.plugins:
            self._keep(detector.offer(event))

    def offer_batch(self, batch: list[Event], problems: RecordProblems) -> None:
        """:meth:`offer` every event; one that raises is a problem of that record.

        With the extension, the whole batch goes through every detector in one
        call, in the same order as :meth:`offer` (per event: sequences,
        duplicates, event time, causes, offsets).
        """
        state = self._native
        if state is None:
            offer_all(self.offer, batch, problems)
            return
        if type(batch) is not list:
            batch = list(batch)
        # ids are extracted in the same call (not kept on the events: nothing here reads
        # them again); events whose ids are known already give them
        found, failed = state.offer_batch(batch, native.builtin_chain(), *native.id_rules(batch))
        self.scanned += len(batch)
        self._keep(_findings(found))
        for index, exc in failed:  # one record's failure, not the run's
            problems.failed(batch[index], exc)
        if self.plugins:  # after the built-ins, as offer does per event
            offer_all(self._offer_plugins, batch, problems)

    def offer_until_failure(
        self,
        batch: list[Event],
        plugin_failed: Callable[[Event, BaseException], object] | None = None,
    ) -> tuple[list[tuple[int, Finding]], int, BaseException | None]:
        """:meth:`offer` events until one raises: the findings kept, each with the index of
        the event it was found at (findings only the end can tell aside), how many events
        were offered (the one that raised included) and what it raised (None: every one).

        With ``plugin_failed``, a plugin's detector raising on an event is that record's
        problem (told to ``plugin_failed``; the other detectors go on), not a failure that
        stops the batch: the built-in detectors then take the batch in one call (with the
        extension) and the plugins each event after them, as :meth:`offer_batch` does.
        """
        kept: list[tuple[int, Finding]] = []
        state = self._native
        if (
            state is not None
            and self.plugins
            and plugin_failed is not None
            and type(self).offer is Checker.offer
        ):
            return self._until_failure_with_plugins(state, batch, plugin_failed)
        if state is None or self.plugins or type(self).offer is not Checker.offer:
            for i, event in enumerate(batch):
                before = len(self.findings)
                try:
                    self.offer(event)
                except Exception as exc:
                    return kept, i + 1, exc
                finally:
                    kept += [(i, f) for f in self.findings[before:]]
            return kept, len(batch), None
        return self._native_until_failure(state, batch)

    def _native_until_failure(
        self, state: Any, batch: list[Event]
    ) -> tuple[list[tuple[int, Finding]], int, BaseException | None]:
        """The built-in detectors (in the extension) over ``batch`` until one raises."""
        kept: list[tuple[int, Finding]] = []
        found, failed = state.offer_batch(
            batch, native.builtin_chain(), *native.id_rules(batch), stop=True
        )
        done, exc = (failed[0][0] + 1, failed[0][1]) if failed else (len(batch), None)
        self.scanned += done
        for index, finding in zip((f[0] for f in found), _findings(found), strict=True):
            if finding.kind in self.kinds:
                self.findings.append(finding)
                kept.append((index, finding))
        return kept, done, exc

    def _until_failure_with_plugins(
        self,
        state: Any,
        batch: list[Event],
        plugin_failed: Callable[[Event, BaseException], object],
    ) -> tuple[list[tuple[int, Finding]], int, BaseException | None]:
        """The built-ins over the batch in one call, then the plugins over each event they
        took (not the one they raised on, as :meth:`offer` skips it); per event, the
        built-ins' findings before the plugins', as :meth:`offer` gives them."""
        start = len(self.findings)
        kept, done, exc = self._native_until_failure(state, batch)
        for index in range(done - 1 if exc is not None else done):
            event = batch[index]
            before = len(self.findings)
            try:
                self._offer_plugins(event)
            except Exception as failure:  # one record's problem, for that plugin alone
                plugin_failed(event, failure)
            kept += [(index, f) for f in self.findings[before:]]
        kept.sort(key=lambda pair: pair[0])  # stable: the built-ins' first, per event
        self.findings[start:] = [finding for _, finding in kept]
        return kept, done, exc

    def _keep(self, found: Iterable[Finding]) -> None:
        for finding in found:
            if finding.kind in self.kinds:
                self.findings.append(finding)

    def finish(self) -> list[Finding]:
        """Every finding, the ones only the end can tell included, in stream order."""
        if self._native is not None:
            self._keep(_findings(self._native.flush()))
        else:
            self._keep(self._sequences.flush() + self._causes.flush())
        for detector in self.plugins:
            self._keep(detector.finish())
        return self.findings

    def notes(self) -> list[str]:
        """What the bounds made the detectors forget (findings may be missing there)."""
        if self._native is not None:
            n = self._native.counters()
            forgotten = (
                (n["sequences_evicted"], "keys' sequences"),
                (n["ids_evicted"], "event ids (duplicates)"),
                (n["times_evicted"], "keys' event times"),
                (n["known_evicted"], "events as possible causes"),
                (n["dropped"], "effects waiting for their causes"),
                (n["held_over"], "sequence findings held while a field was judged"),
            )
        else:
            forgotten = (
                (self._sequences.keys.evicted, "keys' sequences"),
                (self.duplicates.seen.evicted, "event ids (duplicates)"),
                (self.times.keys.evicted, "keys' event times"),
                (self._causes.known.evicted, "events as possible causes"),
                (self._causes.dropped, "effects waiting for their causes"),
                (self._sequences.held_over, "sequence findings held while a field was judged"),
            )
        return [f"{n:,} {what} forgotten at the memory bound" for n, what in forgotten if n]

    def summary(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for finding in self.findings:
            counts[finding.kind] = counts.get(finding.kind, 0) + 1
        return dict(sorted(counts.items()))


def _findings(found: list[tuple]) -> Iterator[Finding]:
    """The extension's findings (each with its event's index first) as :class:`Finding` s."""
    for _, kind, topic, partition, offset, key, refs, *texts in found:
        severity = INFO if kind == "offset_gap" else WARNING
        yield Finding(kind, severity, topic, partition, offset, key, tuple(refs), *texts)


def _sequence_fields(groups: list[tuple[str, ...]], producers: tuple[str, ...]) -> Any:
    """What the extension asks of a record it does not read itself: each group's sequence
    (as :class:`SequenceDetector` reads it) and the producer."""
    specs = [_spec(g) for g in groups]
    producer_spec = _spec(producers) if producers else None

    def read(event: Event) -> tuple[tuple[int | None, ...], str | None]:
        seqs = tuple(_as_sequence(_field(event, spec)) for spec in specs)
        if producer_spec is None:
            return seqs, None
        return seqs, _as_producer(_field(event, producer_spec))

    return read


class _Bound(NamedTuple):
    limit: int
    evicted: int


class _NativeSequences:
    """:class:`SequenceChecks`' view of the extension's state (what callers read of it)."""

    def __init__(self, state: Any, spec: SequenceChecks) -> None:
        self._state, self.learn = state, spec.learn
        self._limit = spec.keys.limit

    @property
    def keys(self) -> _Bound:
        return _Bound(self._limit, self._state.counters()["sequences_evicted"])

    @property
    def compacted_jumps(self) -> int:
        return self._state.counters()["compacted_jumps"]

    @property
    def held_over(self) -> int:
        return self._state.counters()["held_over"]

    def fields(self) -> dict[str, str | None]:
        return self._state.fields() if self.learn else {}

    def carry(self, other: _NativeSequences) -> None:
        self._state.carry_sequences(other._state)


class _NativeWatermark:
    def __init__(self, state: Any) -> None:
        self._state = state

    def value(self) -> int | None:
        return self._state.watermark()


class _NativeCauses:
    """:class:`CausalDetector`'s view of the extension's state (what callers read of it)."""

    def __init__(self, state: Any, spec: CausalDetector) -> None:
        self._state, self._limit = state, spec.known.limit
        self.mark = _NativeWatermark(state)

    def __getattr__(self, name: str) -> int:
        if name in ("outside", "unjudged", "forgotten", "compacted_away", "not_read", "dropped"):
            return self._state.counters()[name]
        raise AttributeError(name)

    @property
    def known(self) -> _Bound:
        return _Bound(self._limit, self._state.counters()["known_evicted"])

    def carry(self, other: _NativeCauses) -> None:
        self._state.carry_causes(other._state)
