"""One bad record never ends a run (issue 14, part 6): deep, huge and malformed records.

Decoding, id extraction and every detector (through ``Checker`` and
``TraceCollector``) never raise, whatever a record holds; what fails on a record
is reported as that record's problem, and a scan goes on past it.
"""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from evtui.core import decode
from evtui.core.decode import MAX_DEPTH, TOO_DEEP, DecoderChain, builtin_decoders, too_deep
from evtui.core.event import Event, problems_reported_to
from evtui.core.ids import EMPTY
from evtui.core.ordering import Checker
from evtui.core.output import json_line, text_line
from evtui.core.problems import RecordProblems, offer_all
from evtui.core.traces import TraceCollector, build_trace

CHAIN = DecoderChain(builtin_decoders())


def nested(depth: int, opener: bytes = b"{") -> bytes:
    if opener == b"{":
        return b'{"a":' * depth + b"1" + b"}" * depth
    return b"[" * depth + b"1" + b"]" * depth


def depth_of(data: bytes) -> int:
    """The reference: how deep arrays and objects nest, read character by character."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == ord("\\"):
                escaped = True
            elif byte == ord('"'):
                in_string = False
        elif byte == ord('"'):
            in_string = True
        elif byte in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        elif byte in b"]}":
            depth -= 1
    return deepest


# -- the depth limit --------------------------------------------------------------------------


@pytest.mark.parametrize("opener", [b"{", b"["])
def test_json_up_to_the_limit_decodes_and_deeper_is_a_decode_problem_shown_as_text(opener):
    ok = CHAIN.decode(nested(MAX_DEPTH, opener))
    assert ok.format == "json" and ok.error is None
    deep = nested(MAX_DEPTH + 1, opener)
    bad = CHAIN.decode(deep)
    assert (bad.format, bad.value, bad.error) == ("text", deep.decode(), TOO_DEEP)
    assert TOO_DEEP == "JSON nested deeper than 512 levels"
    assert CHAIN.peek(deep) == TOO_DEEP and CHAIN.fields(deep) is None
    far = nested(100_000, opener)  # far past the recursion limit
    assert CHAIN.decode(far).error == TOO_DEEP and CHAIN.peek(far) == TOO_DEEP


def test_brackets_in_strings_do_not_count():
    text = json.dumps({"log": "[" * 2000, "quote": '\\"[[' * 300, "a": [[1]]}).encode()
    assert not too_deep(text) and CHAIN.decode(text).error is None


JSON_LEAVES = st.one_of(
    st.integers(), st.text(alphabet='[]{}"\\ab\n', max_size=6), st.none(), st.booleans()
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(alphabet='[]{}"\\a', max_size=3), inner, max_size=3)
    ),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(value=JSON_VALUES, wrap=st.integers(0, 30), limit=st.integers(0, 40))
def test_the_fast_depth_count_agrees_with_reading_every_character(value, wrap, limit):
    data = (b"[" * wrap) + json.dumps(value).encode() + (b"]" * wrap)
    brackets = decode._brackets(data)
    assert decode._deeper(brackets, limit) == (depth_of(data) > limit)


# -- problems are counted, named, and a scan goes on --------------------------------------------


def record(offset: int, value: bytes | None, headers=(), partition: int = 0) -> Event:
    return Event("t", partition, offset, 1_000 + offset, 1, b"k", value, tuple(headers))


def test_an_undecodable_value_is_a_problem_of_its_record_once():
    problems = RecordProblems()
    deep, good = record(5, nested(1_000)), record(6, b'{"eventId": "e6", "type": "T"}')
    with problems_reported_to(problems.add):
        for event in (deep, good):
            assert event.peek_fields() is None or event is good
            event.ids  # noqa: B018 -- read it
            event.decoded  # noqa: B018
    assert deep.ids == EMPTY and good.ids.event_id == "e6"
    assert problems.count == 1
    assert problems.lines("checked") == [f"1 record could not be checked: t/0/5: {TOO_DEEP}"]
    (named,) = problems.to_json()["records"]
    assert named == {"ref": "t/0/5", "topic": "t", "partition": 0, "offset": 5, "reason": TOO_DEEP}
    assert record(7, nested(1_000)).ids == EMPTY  # outside a scan: nothing reported, nor raised


def test_a_failing_record_is_counted_and_the_rest_are_offered():
    seen: list[int] = []

    def offer(event: Event) -> None:
        if event.offset % 3 == 1:
            raise RecursionError("maximum recursion depth exceeded")
        if event.offset == 5:
            raise ValueError("first line\nsecond line")
        seen.append(event.offset)

    problems = RecordProblems()
    offer_all(offer, [record(i, b"x") for i in range(9)], problems)
    assert seen == [0, 2, 3, 6, 8]
    assert problems.count == 4
    lines = problems.lines("searched")
    assert lines[0] == "4 records could not be searched: t/0/1: nested too deeply to read"
    assert lines[2] == "  also t/0/5: ValueError: first line"
    assert all("\n" not in line for line in lines)
    other = RecordProblems()
    other.merge(problems.count, problems.first)
    assert other.to_json() == problems.to_json()


def test_many_problems_name_a_few():
    problems = RecordProblems()
    for i in range(30):
        problems.add(record(i, None), "bad")
        problems.add(record(i, None), "bad again")  # the same record: counted once
    lines = problems.lines("checked")
    assert problems.count == 30 and len(problems.to_json()["records"]) == 20
    assert lines[0] == "30 records could not be checked (25 more not named): t/0/0: bad"
    assert len(lines) == 5


class InlineSource:
    """A source that reads in the caller's thread, like KafkaSource."""

    def __init__(self, batches: list[list[Event]]) -> None:
        from evtui.sources.base import SourceState, SourceStats

        self.batches = batches
        self.state = SourceState.CONNECTED
        self.stats = SourceStats()

    def read_inline(self, deliver) -> None:
        for batch in self.batches:
            if not deliver(batch):
                return

    def problems(self) -> list:
        return []

    def stop(self) -> None:
        pass


def test_a_scan_goes_past_bad_records_and_reports_them():
    from evtui.commands.trace import scan

    events = [
        record(0, b'{"eventId": "a", "correlationId": "c", "type": "T"}'),
        record(1, nested(1_000)),
        record(2, b'{"eventId": "b", "causationId": "a", "correlationId": "c", "type": "T"}'),
        record(3, b"[" * 600 + b"]" * 600, [("correlation-id", b"c")]),
    ]
    collector = TraceCollector("c")
    result = scan(InlineSource([events[:2], events[2:]]), collector, None, io.StringIO())
    assert result.scanned == 4
    assert [(t, o) for t, _, o, _ in result.problems.first] == [("t", 1), ("t", 3)]
    assert sorted(e.offset for e in collector.result()) == [0, 2, 3]

    class Broken:
        def offer(self, event: Event) -> None:
            if event.ids.event_id == "b":
                raise ValueError("a detector's bug")

    fresh = [record(e.offset, e.value) for e in events]  # ids not read yet
    result = scan(InlineSource([fresh]), Broken(), None, io.StringIO())
    assert result.scanned == 4
    reasons = [reason for *_, reason in result.problems.first]
    assert reasons == [TOO_DEEP, "ValueError: a detector's bug", TOO_DEEP]


def test_an_exception_in_a_scan_is_never_blamed_on_kafka():
    """read_inline raises what its callback raised, as it is (not a reading failure)."""
    from evtui.config import ClientConfig
    from evtui.sources.kafka import KafkaSource

    source = KafkaSource(ClientConfig({"bootstrap.servers": "127.0.0.1:1"}), ["t"])
    source._consumer = object()  # never used: _run is replaced below

    def run(deliver) -> None:
        deliver([record(0, b"x")])

    source._run = run  # type: ignore[method-assign]

    def deliver(batch):
        raise RuntimeError("not Kafka's")

    with pytest.raises(RuntimeError, match="not Kafka's"):
        source.read_inline(deliver)
    assert source.problems() == []


# -- fuzzing: deep, huge and malformed values and headers ----------------------------------------

ID_HEADERS = [
    "traceparent", "b3", "X-B3-TraceId", "X-B3-SpanId", "X-B3-ParentSpanId", "uber-trace-id",
    "correlation-id", "causation-id", "event-id", "message-id", "ce_id", "ce_type", "ce_source",
    "ce_time", "ce-time", "content-type", "seq", "sequence", "version", "producer-id", "service",
    "NServiceBus.EnclosedMessageTypes", "__TypeId__", "\xff\xfe", "",
]  # fmt: skip
TRACE_TEXTS = [
    b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    b"4bf92f3577b34da6-00f067aa0ba902b7-1-05e3ac9a4f6e3b90",
    b"4bf92f3577b34da6:00f067aa0ba902b7:0:1",
    b"application/cloudevents+json",
    b"2024-01-01T00:00:00Z", b"9999-12-31T23:59:59+14:00", b"0001-01-01T00:00:00-14:00",
    b"1e400", b"-9223372036854775809", b"NaN", b"\xff\xfe", b"",
]  # fmt: skip
HUGE = st.builds(lambda n, b: b * n, st.integers(0, 1_200_000), st.sampled_from([b"x", b"\xff"]))
HEADER_VALUES = st.one_of(
    st.none(),
    st.binary(max_size=80),
    st.sampled_from(TRACE_TEXTS),
    HUGE,
    st.builds(nested, st.integers(0, 1_200)),
)
HEADER_NAMES = st.one_of(st.sampled_from(ID_HEADERS), st.text(max_size=12))
HEADERS = st.one_of(
    st.lists(st.tuples(HEADER_NAMES, HEADER_VALUES), max_size=12),
    st.builds(lambda n, name: [(name, b"v")] * n, st.integers(0, 10_000), HEADER_NAMES),
)
FIELDS = ["eventId", "correlationId", "causationId", "type", "id", "specversion", "metadata",
          "time", "occurredAt", "eventTime", "timestamp", "seq", "sequence", "version",
          "producerId", "service", "source"]  # fmt: skip
ODD_VALUES = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([10**400, -(10**400), 1e308, -1e308, 0.5, float("nan"), float("inf")]),
    st.text(max_size=30),
    st.sampled_from([t.decode("latin-1") for t in TRACE_TEXTS]),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.sampled_from(FIELDS), st.integers(), max_size=3),
)


def _body(fields: dict, depth: int, cut: int | None) -> bytes:
    text = json.dumps(fields, default=str).encode()  # NaN and infinities as JSON allows them
    if depth:
        text = text[:-1] + b', "deep": ' + nested(depth, b"[") + b"}"
    return text if cut is None else text[:cut]


ODD_BYTES = [
    b"{",
    b"[",
    b'{"a":',
    b'{"a":NaN}',
    b"\xef\xbb\xbf{}",
    b"\x00\x00\x00\x00\x07x",
    b'{"eventId": "\xff"}',
    b" \n[1]",
    b'"just a string"',
    b"1e999",
    b'{"seq": "\xff", "timestamp": "\xfe"}',
    b'{"eventId": "\\ud800", "seq": 1}',
    b'{"eventId": "e", "timestamp": NaN, "seq": Infinity}',
]
VALUES = st.one_of(
    st.none(),
    st.binary(max_size=200),
    HUGE,
    st.builds(nested, st.integers(0, 2_000), st.sampled_from([b"{", b"["])),
    st.builds(
        _body,
        st.dictionaries(st.sampled_from(FIELDS), ODD_VALUES, max_size=8),
        st.sampled_from([0, 0, 0, 50, MAX_DEPTH - 1, MAX_DEPTH, 1_000]),
        st.one_of(st.none(), st.integers(0, 60)),
    ),
    st.sampled_from(ODD_BYTES),
)
KEYS = st.one_of(st.none(), st.binary(max_size=40), st.sampled_from([b"k", b"k2"]))
RECORDS = st.lists(
    st.tuples(
        KEYS, VALUES, HEADERS, st.integers(0, 2),
        st.one_of(st.integers(-1, 2**41), st.sampled_from([-(2**63), 2**63 - 1]))
    ),
    min_size=1, max_size=6,
)  # fmt: skip


def events_of(records: list[tuple]) -> list[Event]:
    return [
        Event("t", partition, offset, timestamp, 1, key, value, tuple(headers))
        for offset, (key, value, headers, partition, timestamp) in enumerate(records)
    ]


DEEP_RECORDS = [
    (b"k", nested(1_000), [], 0, 0),
    (b"k", nested(1_000, b"["), [("ce_time", b"9999-12-31T23:59:59+14:00"), ("seq", None)], 1, 5),
    (None, _body({"eventId": "e1", "seq": 10**400, "timestamp": 1e308}, 1_000, None),
     [("seq", b"\xff"), ("traceparent", nested(2_000))], 0, -1),
]  # fmt: skip
FUZZ = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                            HealthCheck.data_too_large]
)  # fmt: skip


@FUZZ
@given(records=RECORDS)
@example(records=DEEP_RECORDS)
def test_fuzz_decode_ids_and_output_never_raise(records):
    problems = RecordProblems()
    with problems_reported_to(problems.add):
        for event in events_of(records):
            event.peek_fields()
            event.ids  # noqa: B018
            decoded = event.decoded
            assert decoded.error is None or decoded.format in ("text", "binary")
            text_line(event, headers=True)
            json_line(event)
            json_line(event, raw=True)
            if event.value is not None and too_deep(event.value):
                assert decoded.error == TOO_DEEP
    assert problems.count <= len(records)


@FUZZ
@given(records=RECORDS)
@example(records=DEEP_RECORDS)
def test_fuzz_every_detector_never_raises(records):
    checker = Checker()
    for event in events_of(records):
        checker.offer(event)
    for finding in checker.finish():
        assert finding.kind and finding.refs
    checker.summary()
    checker.notes()


@FUZZ
@given(records=RECORDS, wanted=st.sampled_from(["c", "4bf92f3577b34da6a3ce929d0e0e4736", "e1"]))
@example(records=DEEP_RECORDS, wanted="e1")
def test_fuzz_trace_collection_never_raises(records, wanted):
    collector = TraceCollector(wanted)
    for event in events_of(records):
        collector.offer(event)
    members = collector.result()
    if members:
        build_trace(wanted, members).to_json()


def test_tail_shows_every_record_and_says_which_could_not_be_shown():
    from evtui.commands.tail import render_batch

    def render(event: Event) -> str:
        if event.offset == 1:
            raise OverflowError("too big\nsecond line")
        return event.ref

    problems = RecordProblems()
    batch = [record(i, b"x") for i in range(3)]
    text = render_batch(render, batch, False, problems)
    shown = "t[0]@1  <could not be shown: OverflowError: too big>"
    assert text.splitlines() == ["t[0]@0", shown, "t[0]@2"]
    line = json.loads(render_batch(render, batch, True, problems).splitlines()[1])
    assert line == {"topic": "t", "partition": 0, "offset": 1, "error": shown.split("<")[1][:-1]}
    assert problems.count == 1  # the same record, twice in a row: once


def test_a_filter_on_a_record_time_past_year_9999_does_not_match_and_is_counted():
    from evtui.core.filters import Filter

    flt = Filter('time > timestamp("2020-01-01T00:00:00Z")')
    far = Event("t", 0, 0, 2**62, 1, b"k", b"x")
    assert not flt.matches(far) and flt.errors == 1 and "out of range" in flt.last_error
    assert flt.matches(Event("t", 0, 1, 1_700_000_000_000, 1, b"k", b"x"))
