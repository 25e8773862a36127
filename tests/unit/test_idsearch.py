"""Searching ids as users give them: every form of one trace id, and unique prefixes."""

from __future__ import annotations

import pytest

from evtui.core.event import Event
from evtui.core.idsearch import (
    MAX_CANDIDATES,
    MIN_PREFIX,
    Candidates,
    IdPrefix,
    search_keys,
)
from evtui.core.traces import TraceCollector, TraceIndex, build_trace

T0 = 1_767_225_600_000
TRACE64 = "0562809467078eab"
CANONICAL = "0" * 16 + TRACE64
OTHER64 = "0562809467078eac"  # the same first 15 digits: a prefix ambiguity


def record(offset: int, *headers: tuple[str, str], ts: int = 0) -> Event:
    hs = tuple((name, value.encode()) for name, value in headers)
    return Event("t", 0, offset, T0 + ts, 1, b"k", None, hs)


def mixed_trace() -> tuple[list[Event], list[Event]]:
    """One 64-bit trace in every convention and case (members), and controls (not members)."""
    members = [
        record(0, ("b3", f"{TRACE64}-a000000000000001-1"), ts=0),
        record(1, ("traceparent", f"00-{CANONICAL}-a000000000000002-01"), ts=1),
        record(
            2,
            ("b3", f"{TRACE64}-a000000000000003-1"),
            ("traceparent", f"00-{CANONICAL}-a000000000000003-01"),
            ts=2,
        ),
        record(3, ("uber-trace-id", f"{TRACE64.lstrip('0')}:a000000000000004:0:1"), ts=3),
        record(4, ("traceparent", f"00-{CANONICAL.upper()}-A000000000000005-01"), ts=4),
        record(5, ("X-B3-TraceId", TRACE64.upper()), ("X-B3-SpanId", "a000000000000006"), ts=5),
    ]
    controls = [
        record(6, ("b3", f"{OTHER64}-b000000000000001-1"), ts=6),  # another trace
        record(7, ("traceparent", f"00-{'1' * 16}{TRACE64}-b000000000000002-01"), ts=7),  # 128-bit
        record(8, ("event-id", "e-unrelated"), ts=8),
    ]
    return members, controls


@pytest.mark.parametrize(
    "wanted", [TRACE64, CANONICAL, TRACE64.upper(), CANONICAL.upper(), TRACE64.title()]
)
def test_every_form_of_a_64_bit_trace_finds_every_record_of_it(wanted):
    members, controls = mixed_trace()
    collector = TraceCollector(wanted)
    for event in [*controls, *members]:
        collector.offer(event)
    assert [e.offset for e in collector.result()] == [0, 1, 2, 3, 4, 5]
    index = TraceIndex()
    for event in [*members, *controls]:
        index.add(event)
    assert [e.offset for e in index.lookup(wanted)] == [0, 1, 2, 3, 4, 5]


def test_span_parentage_links_across_conventions():
    # a B3 child names the span a W3C record carried, and the other way round
    parent = record(0, ("traceparent", f"00-{CANONICAL}-c000000000000001-01"), ("event-id", "p"))
    child = record(1, ("b3", f"{TRACE64}-c000000000000002-1-c000000000000001"), ts=5)
    grandchild = record(
        2,
        ("X-B3-TraceId", TRACE64.upper()),
        ("X-B3-SpanId", "C000000000000003"),
        ("X-B3-ParentSpanId", "C000000000000002"),
        ts=9,
    )
    collector = TraceCollector("p")
    for event in (grandchild, child, parent):
        collector.offer(event)
    events = collector.result()
    assert [e.offset for e in events] == [0, 1, 2]
    trace = build_trace("p", events)
    assert set(trace.graph.edges) == {("t[0]@0", "t[0]@1"), ("t[0]@1", "t[0]@2")}
    assert trace.to_json()["events"][1]["trace_id"] == CANONICAL


def test_search_keys():
    assert search_keys("order-1") == {"order-1"}
    assert search_keys(TRACE64.upper()) == {TRACE64.upper(), CANONICAL}


# -- prefixes ---------------------------------------------------------------------------------


def test_a_prefix_needs_8_characters_and_a_cut_mark_is_dropped():
    assert IdPrefix.of("abcdefg") is None
    assert MIN_PREFIX == 8
    prefix = IdPrefix.of("abcdefgh…")
    assert prefix is not None and prefix.text == "abcdefgh"
    assert IdPrefix.of("abcdefg…") is None


def test_a_hex_prefix_matches_trace_ids_in_any_case_and_their_16_digit_form():
    assert IdPrefix("05628094").matches(CANONICAL)  # the 16-digit form (what the tail shows)
    assert IdPrefix("0562809467078EA").matches(CANONICAL)
    assert IdPrefix("0000000000000000056").matches(CANONICAL)
    assert not IdPrefix("05628094").matches("1" * 16 + TRACE64)  # upper half not zero
    assert IdPrefix("order-12").matches("order-123")
    assert not IdPrefix("ORDER-12").matches("order-123")  # other ids: case-sensitive


def test_candidates_are_bounded_and_described_on_one_line():
    found = Candidates(f"order-{i:03d}" for i in range(MAX_CANDIDATES + 5))
    assert len(found) == MAX_CANDIDATES and found.more and found.only() is None
    text = found.describe("order-0")
    assert "\n" not in text
    assert text.startswith(f"'order-0' is the start of more than {MAX_CANDIDATES} ids: order-000,")
    assert text.endswith(", …; give more of the id")
    one = Candidates([CANONICAL, CANONICAL])
    assert one.only() == CANONICAL
    assert Candidates([CANONICAL, "x"]).describe("0562") == (
        f"'0562' is the start of 2 ids: {TRACE64}, x; give more of the id"
    )


def ids_events() -> list[Event]:
    return [
        record(0, ("event-id", "order-12"), ("correlation-id", "flow-aaaa-1")),
        record(1, ("event-id", "order-123"), ("causation-id", "order-12")),
        record(2, ("event-id", "order-456"), ("correlation-id", "flow-bbbb-2")),
        record(3, ("b3", f"{TRACE64}-a000000000000001-1")),
        record(4, ("b3", f"{OTHER64}-a000000000000002-1")),
    ]


def collect(wanted: str) -> TraceCollector:
    collector = TraceCollector(wanted)
    for event in ids_events():
        collector.offer(event)
    return collector


def test_the_collector_gathers_what_a_prefix_may_stand_for():
    assert list(collect("flow-aaa").candidates.ids) == ["flow-aaaa-1"]
    assert list(collect("order-4").candidates.ids) == []  # 7 characters: no prefix search
    assert list(collect("order-45").candidates.ids) == ["order-456"]
    assert list(collect("order-12").candidates.ids) == []  # the whole id wins
    assert collect("order-12").result()[0].offset == 0
    assert list(collect("056280946707").candidates.ids) == [CANONICAL, "0" * 16 + OTHER64]
    assert list(collect("0562809467078eab").candidates.ids) == []  # whole (a trace id)


def test_the_index_searches_a_unique_prefix_and_names_ambiguous_ones():
    index = TraceIndex()
    for event in ids_events():
        index.add(event)
    found = index.search("flow-bbb")
    assert found.wanted == "flow-bbbb-2" and [e.offset for e in found.events] == [2]
    found = index.search("0562809467078ea")  # the 16-digit form shown, cut
    assert found.events == [] and set(found.candidates.ids) == {CANONICAL, "0" * 16 + OTHER64}
    found = index.search(TRACE64.upper())  # whole, upper case
    assert [e.offset for e in found.events] == [3]
    found = index.search("order-12")  # whole wins over the prefix of order-123
    assert [e.offset for e in found.events] == [0, 1]
    assert index.search("order-1").candidates.ids == {}  # too short to be a prefix
    found = index.search("order-4…")  # too short once the cut mark is dropped
    assert found.events == [] and len(found.candidates) == 0
    assert index.search("order-45…").wanted == "order-456"


def test_a_64_bit_trace_ids_two_forms_are_one_candidate():
    assert Candidates([CANONICAL, TRACE64]).only() == TRACE64  # searching it finds both
    assert Candidates([TRACE64, CANONICAL]).only() == TRACE64
    assert len(Candidates([TRACE64.upper(), CANONICAL])) == 2  # an explicit id, as carried
    # a service copying its B3 trace id into a correlation header: one id, not two
    collector = TraceCollector("05628094")
    collector.offer(record(0, ("x-correlation-id", TRACE64), ("b3", f"{TRACE64}-{'a' * 16}-1")))
    collector.offer(record(1, ("traceparent", f"00-{CANONICAL}-{'b' * 16}-01")))
    assert collector.candidates.only() == TRACE64
    index = TraceIndex()
    index.add(record(0, ("x-correlation-id", TRACE64), ("b3", f"{TRACE64}-{'a' * 16}-1")))
    index.add(record(1, ("traceparent", f"00-{CANONICAL}-{'b' * 16}-01")))
    found = index.search("05628094")
    assert found.wanted == TRACE64 and [e.offset for e in found.events] == [0, 1]
