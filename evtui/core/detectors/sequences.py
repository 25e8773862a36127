"""Per-key sequence numbers: regressions, duplicates and gaps (:class:`SequenceDetector`).

Sequences (``sequence_regression``, ``sequence_duplicate``, ``sequence_gap``)
are per topic, key and partition (Kafka orders a key's records within a
partition only, and partitions are read in any order), and per producer when
an event names one in a ``producer-id`` header or field. They are read from a
header or a JSON field named ``seq``, ``sequence`` or ``version`` (integers;
other names and nested paths such as ``meta.seq`` can be given). Keyless
records are no sequence unless asked for. A gap is held, not reported at once:
when the missing number arrives later it is one reordering (reported as a
regression: adjacent records swapped), and only gaps still open when the key
has moved :data:`GAP_GRACE` records on, or at :meth:`SequenceDetector.flush`,
are reported as gaps. The same sequence again with the same event id is the
same event delivered twice: that is ``duplicate_event``'s to report.

On compacted topics (:class:`~evtui.core.detectors.common.Compaction`) a
tombstone starts the key's sequence over, and a read racing the cleaner can
jump over removed versions (not a gap when at least as many offsets are
missing in between).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from evtui.core.detectors.common import (
    WARNING,
    Compaction,
    FieldSpec,
    Finding,
    KeyState,
    decode_key,
    field_of,
    field_spec,
    key_text,
    make_finding,
    parse_ref,
    place,
    read_field,
    ref,
)
from evtui.core.event import Event

SEQUENCE_NAMES = ("seq", "sequence", "version")
PRODUCER_NAMES = ("producer-id", "producer_id", "producerId")
GAP_GRACE = 50  # records of a key after which a sequence gap that was not filled is reported
MAX_GAPS = 16  # open gaps kept per key


def sequence_of(event: Event, names: tuple[str, ...] = SEQUENCE_NAMES) -> int | None:
    """The event's sequence number: a header, else a JSON field (integers only, below
    2**126 in size: a larger number is an id or a hash, no counter).

    A name is a header name (any case) or a JSON path; ``meta.seq`` walks into
    nested objects. The first name found wins.
    """
    return as_sequence(field_of(event, names))


# A number of 127 bits or more is no counter (a hash, an id): not a sequence. (Within this,
# every difference of two sequence numbers fits the extension's 128-bit integers.)
SEQUENCE_MIN, SEQUENCE_LIMIT = -(2**126), 2**126


def as_sequence(value: object) -> int | None:
    if isinstance(value, bytes):
        try:
            value = int(value.decode("ascii").strip())
        except (UnicodeDecodeError, ValueError):
            return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value if SEQUENCE_MIN <= value < SEQUENCE_LIMIT else None
    return None


def as_producer(value: object) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return None if value is None or isinstance(value, dict | list) else str(value)


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
        self._specs = field_spec(names), field_spec(producers) if producers else None
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
        seq = as_sequence(read_field(event, names))
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

    def _key(self, event: Event, producers: FieldSpec | None) -> tuple:
        """Topic, key, producer and partition: Kafka orders a key's records per partition
        only, and partitions are read in any order (one after another, or side by side)."""
        producer = None if producers is None else as_producer(read_field(event, producers))
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
                make_finding(
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
                make_finding(
                    "sequence_regression", event, (after_ref, here),
                    expected=f"sequence {seq} before sequence {higher} at {place(after_ref)}",
                    seen=f"sequence {seq} after sequence {higher} at {place(after_ref)}",
                    explanation="adjacent records swapped: the later one was written first "
                    "(producer retries without idempotence, or max.in.flight > 1)",
                )
            ]  # fmt: skip
        return [
            make_finding(
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
        return list(self._gaps(state, None if key is None else decode_key(key)))

    def flush(self, topics: Iterable[str] | None = None) -> list[Finding]:
        """Every gap still open (the end of a scan), of ``topics`` when given."""
        wanted = None if topics is None else set(topics)
        found: list[Finding] = []
        for (topic, key, _, _), state in self.keys.items():
            if state.gaps and (wanted is None or topic in wanted):
                found += self._gaps(state, None if key is None else decode_key(key))
        return found
