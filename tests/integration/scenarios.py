"""Scenarios for ``evtui check`` on the real broker: streams written, and what must be found.

Each scenario writes events to fresh topics with a real producer and returns
the ground truth: for every anomaly it injected the kind, the record the
finding must name (``topic/partition/offset``, from the delivery reports) and
the key. Clean streams have none. The producer is idempotent, so records land
in each partition in the order they are given: the positions are known.

Events are keyed entities (``order-3``...) whose versions carry a sequence
number and name the previous version as their cause, in one of three
encodings (:data:`STYLES`): a plain JSON body, CloudEvents binary mode
(``ce_*`` headers, the sequence in a ``seq`` header), or a JSON body with the
sequence nested in ``meta.seq`` (checked with ``--seq-field meta.seq``).
Record timestamps and event times come from a controlled clock, so a late
event or an effect stamped before its cause is exactly that and nothing else.

Also: two transactional writers with aborted transactions (:func:`transactional`),
a compacted topic read after the cleaner ran (:func:`compacted`), and a producer
without idempotence retrying through a frozen broker (:func:`redelivery`), whose
truth is read back from what landed.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import time
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from tests.integration.kcat import kcat_records

Expected = tuple[str, str, str | None]  # kind, "topic/partition/offset", key
MakeTopic = Callable[..., str]  # the ``new_topic`` fixture: (partitions, suffix, config) -> name
STYLES = ("body", "cloudevents", "nested")
SOURCE = "/scenarios/orders"
STEP_MS = 5  # the clock's tick between two events
JITTER_MS = 800  # event time going back less than the default lateness (1 s): not a finding
LATE_MS = 5_000  # event time going back more than it: a finding
SKEW_MS = 2_000  # an effect stamped this long before its cause


@dataclass(frozen=True)
class Rec:
    """One record to write, and the kinds of finding it must be named in."""

    key: str | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    ts: int
    partition: int = 0
    expect: tuple[str, ...] = ()


@dataclass
class Scenario:
    """A written stream: its topic, the truth, and the ``evtui check`` options it needs."""

    topic: str
    truth: list[Expected]
    args: tuple[str, ...] = ()
    written: int = 0
    resent: list[str] = field(default_factory=list)  # records written again after an abort


def iso(ms: int) -> str:
    seconds, millis = divmod(ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


# -- the stream model -------------------------------------------------------------------------


@dataclass
class Stream:
    """Versions of keyed entities in one encoding, on a clock of our own."""

    style: str = "body"
    partitions: int = 1
    seed: int = 7
    records: list[Rec] = field(default_factory=list)
    clock: int = field(default_factory=lambda: int(time.time() * 1000) - 120_000)
    seqs: dict[str, int] = field(default_factory=dict)  # the last sequence given, per key
    last: dict[str, str] = field(default_factory=dict)  # the last event id, per key
    pending: dict[str, tuple[str, ...]] = field(default_factory=dict)  # kinds for the next one
    prefix: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    count: int = 0  # event ids given
    flushed: int = 0  # records already written (a stream written in phases)

    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        assert self.style in STYLES, self.style
        self.rng = random.Random(self.seed)

    def new_id(self) -> str:
        self.count += 1
        return f"{self.prefix}-{self.count}"

    def partition_of(self, key: str | None) -> int:
        return 0 if key is None else zlib.crc32(key.encode()) % self.partitions

    def emit(
        self,
        key: str,
        *,
        seq: int | None = None,
        eid: str | None = None,
        cause: str | None = "",
        at: int | None = None,
        when: int | None = None,
        expect: tuple[str, ...] = (),
    ) -> Rec:
        """The key's next version: next sequence, caused by its last version, stamped now.

        ``at`` is the record timestamp, ``when`` the event time (default: ``at``).
        ``cause=""`` means the key's last version (none for its first); None, no cause.
        """
        self.clock += STEP_MS
        seq = self.seqs.get(key, 0) + 1 if seq is None else seq
        eid = eid or self.new_id()
        cause = self.last.get(key) if cause == "" else cause
        at = self.clock if at is None else at
        value, headers = encode(self.style, eid, seq, cause, when if when is not None else at)
        kinds = self.pending.pop(key, ()) + expect
        rec = Rec(key, value, headers, at, self.partition_of(key), kinds)
        self.seqs[key], self.last[key] = max(seq, self.seqs.get(key, 0)), eid
        self.records.append(rec)
        return rec

    def background(self, n: int, keys: list[str]) -> None:
        """``n`` clean versions of random keys; one in seven a little late (allowed)."""
        for _ in range(n):
            key = self.rng.choice(keys)
            late = self.rng.randrange(7) == 0
            self.emit(key, when=self.clock + STEP_MS - JITTER_MS if late else None)

    def resend(self, rec: Rec, expect: tuple[str, ...] = ("duplicate_event",)) -> None:
        """The same record again, byte for byte (a retry without idempotence)."""
        self.records.append(replace(rec, expect=expect))

    def keyless(
        self, eid: str | None = None, body: dict | None = None, expect: tuple[str, ...] = ()
    ) -> Rec:
        """An event without key or sequence (a heartbeat): only its id counts."""
        self.clock += STEP_MS
        eid = eid or self.new_id()
        value = json.dumps({"eventId": eid, "type": "Heartbeat", **(body or {})}).encode()
        rec = Rec(None, value, (), self.clock, 0, expect)
        self.records.append(rec)
        return rec


def encode(
    style: str, eid: str, seq: int, cause: str | None, when: int
) -> tuple[bytes, tuple[tuple[str, bytes], ...]]:
    """The value and headers of one version in ``style``."""
    if style == "cloudevents":
        headers = [
            ("ce_specversion", b"1.0"),
            ("ce_id", eid.encode()),
            ("ce_source", SOURCE.encode()),
            ("ce_type", b"OrderUpdated"),
            ("ce_time", iso(when).encode()),
            ("seq", str(seq).encode()),
        ]
        if cause:
            headers.append(("ce_causationid", cause.encode()))
        return json.dumps({"amount": seq * 10}).encode(), tuple(headers)
    if style == "nested":
        body: dict = {"eventId": eid, "type": "OrderUpdated", "eventTime": iso(when)}
        body["meta"] = {"seq": seq, "schema": 2}
        headers = (("causation-id", cause.encode()),) if cause else ()
        return json.dumps(body).encode(), headers
    body = {"eventId": eid, "type": "OrderUpdated", "seq": seq, "occurredAt": iso(when)}
    if cause:
        body["causationId"] = cause
    return json.dumps(body).encode(), ()


def tombstone(stream: Stream, key: str) -> None:
    """The key deleted (a null value); its next life starts again at sequence 1."""
    stream.clock += STEP_MS
    stream.records.append(Rec(key, None, (), stream.clock, stream.partition_of(key)))
    stream.seqs.pop(key, None)
    stream.last.pop(key, None)


# -- injections -------------------------------------------------------------------------------


def swap(stream: Stream, key: str) -> None:
    """The key's next two versions written in the wrong order (stamped in the right one)."""
    first_ts = stream.clock + STEP_MS
    seq, cause = stream.seqs.get(key, 0) + 1, stream.last.get(key)
    first_id, second_id = stream.new_id(), stream.new_id()
    stream.emit(key, seq=seq + 1, eid=second_id, cause=first_id, at=first_ts + STEP_MS)
    stream.emit(key, seq=seq, eid=first_id, cause=cause, at=first_ts,
                expect=("sequence_regression",))  # fmt: skip
    stream.last[key] = second_id


def repeat_sequence(stream: Stream, key: str) -> None:
    """A second, different event with the key's last sequence number."""
    stream.emit(key, seq=stream.seqs[key], expect=("sequence_duplicate",))


def stale_write(stream: Stream, key: str) -> None:
    """A writer with an old counter: a version far below the key's latest, once."""
    latest, last = stream.seqs[key], stream.last[key]
    stream.emit(key, seq=max(1, latest - 10), expect=("sequence_regression",))
    stream.seqs[key], stream.last[key] = latest, last


def skip_sequence(stream: Stream, key: str) -> None:
    """The producer skips a number: the key's next version jumps (a gap, nothing lost)."""
    stream.seqs[key] += 1
    stream.pending[key] = (*stream.pending.get(key, ()), "sequence_gap")


def lose_event(stream: Stream, key: str) -> None:
    """A version lost: its successor jumps a number and names it as its cause (an orphan)."""
    stream.seqs[key] += 1
    stream.last[key] = stream.new_id()  # never written
    stream.pending[key] = (*stream.pending.get(key, ()), "sequence_gap", "orphan")


def late_event(stream: Stream, key: str) -> None:
    """The key's next version with an event time well before the key's latest."""
    stream.emit(key, when=stream.clock - LATE_MS, expect=("event_time_regression",))


def effect_stamped_before_cause(stream: Stream, cause_key: str, effect_key: str) -> None:
    """A new entity caused by ``cause_key``'s last version, but stamped before it."""
    cause_ts = next(rec.ts for rec in reversed(stream.records) if rec.key == cause_key)
    stream.emit(effect_key, cause=stream.last[cause_key], at=cause_ts - SKEW_MS,
                expect=("causal_inversion",))  # fmt: skip


def effect_written_before_cause(stream: Stream, cause_key: str, effect_key: str) -> str:
    """A new entity naming ``cause_key``'s next version, written (and stamped) before it.

    Returns the cause's id: the caller writes it later with ``emit(cause_key, eid=...)``.
    """
    cause = stream.new_id()
    stream.emit(effect_key, cause=cause, expect=("causal_inversion",))
    return cause


def orphan(stream: Stream, key: str) -> None:
    """The key's next version names a cause that is never written."""
    stream.emit(key, cause=f"never-{uuid.uuid4().hex[:8]}", expect=("orphan",))


# -- writing ----------------------------------------------------------------------------------


def write(bootstrap: str, topic: str, records: list[Rec], config: dict | None = None) -> list[str]:
    """Write ``records`` in order (idempotent: they land in that order); where each landed."""
    producer = Producer(
        {"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 2,
         **(config or {})}
    )  # fmt: skip
    refs: list[str] = [""] * len(records)
    errors: list = []

    def landed(i: int) -> Callable:
        def report(err: object, msg: object) -> None:
            if err is not None:
                errors.append(err)
            else:
                refs[i] = f"{msg.topic()}/{msg.partition()}/{msg.offset()}"  # type: ignore[attr-defined]

        return report

    for i, rec in enumerate(records):
        key = None if rec.key is None else rec.key.encode()
        producer.produce(topic, rec.value, key, partition=rec.partition, headers=list(rec.headers),
                         timestamp=rec.ts, on_delivery=landed(i))  # fmt: skip
        producer.poll(0)
    assert producer.flush(30) == 0 and not errors, errors
    return refs


def truth_of(records: list[Rec], refs: list[str]) -> list[Expected]:
    return sorted((kind, r, rec.key) for rec, r in zip(records, refs, strict=True)
                  for kind in rec.expect)  # fmt: skip


def written(bootstrap: str, topic: str, stream: Stream, args: tuple[str, ...] = ()) -> Scenario:
    refs = write(bootstrap, topic, stream.records)
    return Scenario(topic, truth_of(stream.records, refs), args, len(refs))


def args_for(style: str) -> tuple[str, ...]:
    return ("--seq-field", "meta.seq") if style == "nested" else ()


# -- clean streams ----------------------------------------------------------------------------


def clean(bootstrap: str, make_topic: MakeTopic, style: str) -> Scenario:
    """Twelve entities on three partitions, causes across partitions, late events within
    the lateness, two writers with their own sequences on one key, heartbeats: nothing to find.
    """
    stream = Stream(style, partitions=3)
    orders = [f"order-{i}" for i in range(12)]
    stream.background(300, orders)
    for i in range(6):  # new entities caused by orders (often on another partition)
        stream.emit(f"payment-{i}", cause=stream.last[orders[i]])
    stream.background(100, orders + [f"payment-{i}" for i in range(6)])
    for _ in range(5):
        stream.keyless()
    if style == "body":
        two_writers(stream)
    return written(bootstrap, make_topic(partitions=3, suffix=style), stream, args_for(style))


def two_writers(stream: Stream) -> None:
    """One key written by two services, each with its own sequence (``producerId``)."""
    for n in range(1, 21):
        for writer in ("svc-a", "svc-b"):
            stream.clock += STEP_MS
            body = {"eventId": stream.new_id(), "type": "StockMoved", "seq": n,
                    "producerId": writer, "occurredAt": iso(stream.clock)}  # fmt: skip
            key = "stock-1"
            stream.records.append(Rec(key, json.dumps(body).encode(), (), stream.clock,
                                      stream.partition_of(key)))  # fmt: skip


# -- one kind of anomaly each -----------------------------------------------------------------

KEYS = [f"order-{i}" for i in range(6)]


def sequence_regressions(bootstrap: str, make_topic: MakeTopic) -> Scenario:
    """Adjacent versions swapped twice, and a stale writer's old number once (CloudEvents)."""
    stream = Stream("cloudevents")
    stream.background(60, KEYS)
    swap(stream, "order-1")
    stream.background(60, KEYS)
    swap(stream, "order-2")
    stale_write(stream, "order-3")
    stream.background(60, KEYS)
    return written(bootstrap, make_topic(suffix="regression"), stream)


def sequence_duplicates(bootstrap: str, make_topic: MakeTopic) -> Scenario:
    """A number given to two different events, on two keys."""
    stream = Stream("body")
    stream.background(80, KEYS)
    repeat_sequence(stream, "order-0")
    stream.background(40, KEYS)
    repeat_sequence(stream, "order-4")
    stream.background(40, KEYS)
    return written(bootstrap, make_topic(suffix="seqdup"), stream)


def sequence_gaps(bootstrap: str, make_topic: MakeTopic) -> Scenario:
    """Numbers skipped (one reported as the key moves on, one only at the end), and a lost
    version whose successor is an orphan too; sequences nested in ``meta.seq``.
    """
    stream = Stream("nested")
    stream.background(40, KEYS)
    skip_sequence(stream, "order-1")
    stream.background(400, KEYS)  # order-1 moves on far past the grace
    lose_event(stream, "order-2")
    stream.background(30, KEYS)
    skip_sequence(stream, "order-5")
    stream.emit("order-5")
    stream.background(5, KEYS[:3])
    return written(bootstrap, make_topic(suffix="gap"), stream, args_for("nested"))


def event_time_regressions(bootstrap: str, make_topic: MakeTopic) -> Scenario:
    """Event times (``ce_time``) 5 s before the key's latest, twice; smaller ones allowed."""
    stream = Stream("cloudevents")
    stream.background(70, KEYS)
    late_event(stream, "order-0")
    stream.background(70, KEYS)
    late_event(stream, "order-3")
    stream.background(30, KEYS)
    return written(bootstrap, make_topic(suffix="late"), stream)


def causal_inversions(bootstrap: str, make_topic: MakeTopic) -> Scenario:
    """Effects stamped before their causes: written after them, and written before them."""
    stream = Stream("body")
    stream.background(60, KEYS)
    effect_stamped_before_cause(stream, "order-2", "refund-1")
    stream.background(30, KEYS)
    cause = effect_written_before_cause(stream, "order-4", "refund-2")
    stream.background(10, ["order-0", "order-1"])
    stream.emit("order-4", eid=cause)
    stream.background(30, [*KEYS, "refund-1", "refund-2"])
    return written(bootstrap, make_topic(suffix="inversion"), stream)


def duplicate_events(bootstrap: str, make_topic: MakeTopic) -> Scenario:
    """A version re-sent at once, a heartbeat re-sent later, an id reused with other
    content; one ``ce_id`` under two ``ce_source`` s is two events (not a finding).
    """
    stream = Stream("cloudevents")
    stream.background(50, KEYS)
    stream.resend(stream.emit("order-1"))
    beat, reused = stream.keyless(), stream.new_id()
    stream.keyless(eid=reused)
    stream.background(30, KEYS)
    stream.resend(beat)
    stream.keyless(eid=reused, body={"note": "another event"}, expect=("duplicate_event",))
    stream.background(20, KEYS)
    other_source(stream, "order-5")
    stream.background(20, KEYS)
    return written(bootstrap, make_topic(suffix="dup"), stream)


def other_source(stream: Stream, key: str) -> None:
    """An event whose ``ce_id`` another source already used: a different event."""
    taken = stream.last[key]
    stream.clock += STEP_MS
    headers = (("ce_specversion", b"1.0"), ("ce_id", taken.encode()),
               ("ce_source", b"/scenarios/audit"), ("ce_type", b"Audited"),
               ("ce_time", iso(stream.clock).encode()))  # fmt: skip
    stream.records.append(Rec(None, b'{"audited": true}', headers, stream.clock, 0))


def orphans(bootstrap: str, make_topic: MakeTopic) -> Scenario:
    """Versions naming causes that were never written, on two keys."""
    stream = Stream("body")
    stream.background(50, KEYS)
    orphan(stream, "order-3")
    stream.background(50, KEYS)
    orphan(stream, "order-0")
    stream.background(20, KEYS)
    return written(bootstrap, make_topic(suffix="orphan"), stream)


def everything(bootstrap: str, make_topic: MakeTopic) -> Scenario:
    """Every kind at once on three partitions, causes crossing partitions."""
    stream = Stream("body", partitions=3)
    keys = [f"order-{i}" for i in range(9)]
    stream.background(80, keys)
    swap(stream, "order-1")
    repeat_sequence(stream, "order-2")
    skip_sequence(stream, "order-3")
    lose_event(stream, "order-4")
    stream.background(40, keys)
    late_event(stream, "order-5")
    effect_stamped_before_cause(stream, "order-6", "refund-1")
    cause = effect_written_before_cause(stream, "order-7", "refund-2")
    stream.background(20, keys[:6])
    stream.emit("order-7", eid=cause)
    stream.resend(stream.emit("order-8"))
    orphan(stream, "order-0")
    stream.background(60, keys)
    return written(bootstrap, make_topic(partitions=3, suffix="all"), stream)


ANOMALIES = {
    "sequence_regression": sequence_regressions,
    "sequence_duplicate": sequence_duplicates,
    "sequence_gap": sequence_gaps,
    "event_time_regression": event_time_regressions,
    "causal_inversion": causal_inversions,
    "duplicate_event": duplicate_events,
    "orphan": orphans,
    "all": everything,
}


# -- transactions -----------------------------------------------------------------------------


def transactional(bootstrap: str, make_topic: MakeTopic) -> Scenario:
    """Two transactional writers interleaved on one partition; some transactions aborted.

    An aborted batch is written again in a transaction of its own, unchanged (the
    writer's state rolled back: the same ids and sequence numbers), so
    read_uncommitted sees duplicates that read_committed hides. Nothing to find;
    markers and aborted records leave offset gaps (information only).
    """
    topic = make_topic(suffix="txn")
    writers = {name: _txn_producer(bootstrap, f"{topic}-{name}") for name in ("a", "b")}
    streams = {name: Stream("cloudevents", seed=ord(name)) for name in writers}
    committed, resent = 0, []
    for round_no in range(8):
        for producer in writers.values():
            producer.begin_transaction()
        for _ in range(3):  # the two transactions' records interleave in the partition
            for name, producer in writers.items():
                _send(producer, topic, _more(streams[name], name, 5))
        for i, (name, producer) in enumerate(writers.items()):
            batch = streams[name].records[streams[name].flushed :]
            streams[name].flushed = len(streams[name].records)
            committed += len(batch)
            if (round_no + i) % 3 == 1:
                producer.abort_transaction(30)
                producer.begin_transaction()
                resent += _send(producer, topic, batch)
            producer.commit_transaction(30)
    return Scenario(topic, [], (), committed, resent=resent)


def _txn_producer(bootstrap: str, transactional_id: str) -> Producer:
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": transactional_id,
                         "linger.ms": 2})  # fmt: skip
    producer.init_transactions(30)
    return producer


def _more(stream: Stream, name: str, n: int) -> list[Rec]:
    """``n`` more versions of this writer's own entities."""
    mark = len(stream.records)
    stream.background(n, [f"{name}-order-{i}" for i in range(3)])
    return stream.records[mark:]


def _send(producer: Producer, topic: str, records: list[Rec]) -> list[str]:
    """Write ``records`` in the open transaction; where each landed."""
    refs: list[str] = []

    def landed(err: object, msg: object) -> None:
        assert err is None, err
        refs.append(f"{msg.topic()}/{msg.partition()}/{msg.offset()}")  # type: ignore[attr-defined]

    for rec in records:
        key = None if rec.key is None else rec.key.encode()
        producer.produce(topic, rec.value, key, headers=list(rec.headers), timestamp=rec.ts,
                         on_delivery=landed)  # fmt: skip
        producer.poll(0)
    assert producer.flush(30) == 0 and len(refs) == len(records)
    return refs


# -- reading back -----------------------------------------------------------------------------


def kcat_offsets(bootstrap: str, topic: str, *, committed: bool = True) -> list[tuple[int, int]]:
    """(partition, offset) of every record kcat reads (read_committed or read_uncommitted)."""
    if shutil.which("kcat") is None:
        pytest.fail("kcat is not installed (scripts/test installs it)")
    level = "read_committed" if committed else "read_uncommitted"
    out = subprocess.run(
        ["kcat", "-C", "-b", bootstrap, "-t", topic, "-e", "-q", "-X", f"isolation.level={level}",
         "-f", "%p %o\n"],
        capture_output=True, timeout=60, check=True, text=True,
    ).stdout  # fmt: skip
    return sorted(tuple(int(x) for x in line.split()) for line in out.splitlines())  # type: ignore[misc]


# -- a compacted topic ------------------------------------------------------------------------

COMPACTED = {
    "cleanup.policy": "compact",
    # A write stamped (record time) this long after the segment's first batch rolls it:
    # the stream's clock jumps a second between phases, so each starts a segment.
    "segment.ms": "200",
    "min.cleanable.dirty.ratio": "0.01",
    "min.compaction.lag.ms": "0",
    "delete.retention.ms": "100",
}


def compacted(bootstrap: str, make_topic: MakeTopic, timeout: float = 45) -> Scenario:
    """Entities updated many times, one deleted, on a compacted topic, read after the
    cleaner removed every old version it may; the last writes (the active segment, never
    compacted) delete and re-create an entity and hold one real sequence gap.
    """
    topic = make_topic(config=COMPACTED)
    stream = Stream("body")
    keys = [f"item-{i}" for i in range(8)]
    refs: list[str] = []
    for phase in range(3):  # segments the cleaner may compact once a later one is written
        stream.background(120, keys)
        if phase == 1:
            tombstone(stream, "item-7")
        refs += _write_phase(bootstrap, topic, stream)
    tombstone(stream, "item-6")  # a new life: its sequence starts over
    stream.background(3, ["item-6"])
    stream.emit("item-5")
    skip_sequence(stream, "item-5")
    stream.emit("item-5")
    stream.emit("item-5")
    active = _write_phase(bootstrap, topic, stream)
    wait_for_compaction(bootstrap, topic, active[0], timeout)
    return Scenario(topic, truth_of(stream.records, refs + active), (), len(refs + active))


def _write_phase(bootstrap: str, topic: str, stream: Stream) -> list[str]:
    """Write what the stream has not written yet; its next write starts a segment."""
    refs = write(bootstrap, topic, stream.records[stream.flushed :])
    stream.flushed = len(stream.records)
    stream.clock += 1_000
    return refs


def wait_for_compaction(bootstrap: str, topic: str, active: str, timeout: float) -> None:
    """Until every key has at most one record before ``active`` (the last segment's start)."""
    first = int(active.rsplit("/", 1)[1])
    deadline = time.monotonic() + timeout
    while True:
        keys = [key for _, offset, key, _ in kcat_records(bootstrap, topic) if offset < first]
        if len(keys) == len(set(keys)):
            return
        if time.monotonic() > deadline:
            pytest.fail(f"{topic} not compacted in {timeout:g}s: {len(keys)} records left")
        time.sleep(0.3)


# -- a producer retrying without idempotence --------------------------------------------------

RETRYING = {
    "enable.idempotence": False,
    "acks": "all",
    "max.in.flight.requests.per.connection": 5,
    "retries": 1_000_000,
    "retry.backoff.ms": 50,
    "linger.ms": 1,
    "batch.num.messages": 20,
    "request.timeout.ms": 1000,  # a frozen broker times requests out, and they are sent again
    "socket.timeout.ms": 1000,
    "message.timeout.ms": 120_000,
}
RATE = 3000  # records per second


def redelivery(bootstrap: str, topic: str, broker_pid: int, rounds: int = 3) -> Scenario:
    """Versions of two keys from a producer without idempotence (5 requests in flight,
    retries) while the broker is frozen (SIGSTOP) for 2 s, until copies landed.

    Requests time out and are sent again, but the broker had read them: it appends
    them when it wakes up, and the copies land behind newer records. The truth comes
    from the producer's numbering (1, 2, ... per key, one event id each, in produce
    order) and what landed, read back: a record whose event id landed before is a
    ``duplicate_event``; one whose number is below one that landed before it, a
    ``sequence_regression``; one stamped more than 1 s before the key's latest, an
    ``event_time_regression``.
    """
    producer = Producer({"bootstrap.servers": bootstrap, **RETRYING})
    sent = {"k0": 0, "k1": 0}
    landed: list[tuple[str, str, int, str, int]] = []
    for _ in range(rounds):
        _produce_through_a_freeze(producer, topic, sent, broker_pid)
        landed = read_back(bootstrap, topic)
        if len(landed) > sum(sent.values()):
            break
    numbers = {(key, seq) for _, key, seq, _, _ in landed}
    assert numbers == {(k, n) for k, last in sent.items() for n in range(1, last + 1)}  # none lost
    return Scenario(topic, landing_truth(landed), (), len(landed))


def _produce_through_a_freeze(
    producer: Producer, topic: str, sent: dict[str, int], broker_pid: int
) -> None:
    """Produce for 3.5 s at :data:`RATE`; the broker is frozen from 1 s to 3 s."""
    frozen, started, n = False, time.monotonic(), 0
    try:
        while (elapsed := time.monotonic() - started) < 3.5:
            if not frozen and 1.0 <= elapsed < 3.0:
                os.kill(broker_pid, signal.SIGSTOP)
                frozen = True
            elif frozen and elapsed >= 3.0:
                os.kill(broker_pid, signal.SIGCONT)
                frozen = False
            while n < elapsed * RATE:
                n += 1
                key = f"k{n % 2}"
                sent[key] += 1
                body = {"eventId": f"{topic}-{key}-{sent[key]}", "seq": sent[key]}
                producer.produce(topic, json.dumps(body).encode(), key.encode())
            producer.poll(0.001)
    finally:
        if frozen:
            os.kill(broker_pid, signal.SIGCONT)
    assert producer.flush(60) == 0


def read_back(bootstrap: str, topic: str) -> list[tuple[str, str, int, str, int]]:
    """(ref, key, seq, event id, timestamp) of every record of partition 0, in offset order."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"scn-{uuid.uuid4().hex}",
                         "enable.partition.eof": True, "enable.auto.commit": False})  # fmt: skip
    consumer.assign([TopicPartition(topic, 0, 0)])
    out = []
    try:
        while (msg := consumer.poll(10)) is not None and msg.error() is None:
            body = json.loads(msg.value())
            out.append((f"{topic}/0/{msg.offset()}", msg.key().decode(), body["seq"],
                        body["eventId"], msg.timestamp()[1]))  # fmt: skip
    finally:
        consumer.close()
    return out


def landing_truth(landed: list[tuple[str, str, int, str, int]]) -> list[Expected]:
    """What the landing order holds, by the definitions in :func:`redelivery`."""
    truth: list[Expected] = []
    seen: set[str] = set()
    top: dict[str, int] = {}
    latest: dict[str, int] = {}
    for where, key, seq, eid, ts in landed:
        if eid in seen:
            truth.append(("duplicate_event", where, key))
        if seq < top.get(key, seq):
            truth.append(("sequence_regression", where, key))
        if ts < latest.get(key, ts) - 1000:
            truth.append(("event_time_regression", where, key))
        seen.add(eid)
        top[key], latest[key] = max(seq, top.get(key, seq)), max(ts, latest.get(key, ts))
    return sorted(truth)
