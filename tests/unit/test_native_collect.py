"""The trace collector's native batch scan against its one specification, ``offer``.

Differential: the same stream is offered event by event (Python) and batch by batch
(``offer_batch``, the extension where built); both collectors must end with the same
members (refs, and which have their value), the same held and dropped counts and the
same prefix candidates.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evtui.core import native
from evtui.core.event import Event
from evtui.core.ids import EventIds
from evtui.core.problems import RecordProblems
from evtui.core.traces import TraceCollector
from evtui.sim.model import FaultRates
from evtui.sim.shop import ShopSimulator
from tests.integration import scenarios

needs_native = pytest.mark.skipif(
    os.environ.get("EVTUI_NATIVE") == "0", reason="EVTUI_NATIVE=0: Python alone"
)


def state(collector):
    members = [(e.topic, e.partition, e.offset, e.value is not None) for e in collector.result()]
    return (
        members,
        collector.pending,
        collector.dropped,
        collector.not_kept,
        list(collector.candidates.ids),
        collector.candidates.more,
    )


def both(events, wanted, batch=50, **limits):
    """(Python's state, the batch scan's state) after the same stream."""
    one = TraceCollector(wanted, **limits)
    for e in events:
        one.offer(copy(e))
    other = TraceCollector(wanted, **limits)
    fresh = [copy(e) for e in events]
    problems = RecordProblems()
    for i in range(0, len(fresh), batch):
        other.offer_batch(fresh[i : i + batch], problems)
    return state(one), state(other)


def copy(e):
    """The record again, ids not extracted yet (each collector reads its own)."""
    return Event(e.topic, e.partition, e.offset, e.timestamp, 1, e.key, e.value, e.headers)


def demo_events(n=3000, seed=9):
    sim = ShopSimulator(seed=seed, rate=300, faults=FaultRates(0.05, 0.05, 0.05, 0.05, 0.05))
    return [
        Event(r.topic, i % 3, i, 1_700_000_000_000 + i, 1, r.key, r.value, r.headers)
        for i, r in enumerate(sim.take(n))
    ]


@needs_native
def test_offer_batch_takes_the_native_path():
    assert native.available()


@needs_native
@pytest.mark.parametrize("which", ["correlation", "event", "cause", "prefix", "absent", "trace"])
def test_demo_traces_agree(which):
    events = demo_events()
    ids = [copy(e).ids for e in events]
    some = next(i for i in ids[500:] if i.correlation_id and i.event_id and i.causation_ids)
    wanted = {
        "correlation": some.correlation_id,
        "event": some.event_id,
        "cause": some.causation_ids[0],
        "prefix": some.correlation_id[:8],
        "absent": "no-such-id",
        "trace": next((i.trace_id for i in ids if i.trace_id), "x") or "x",
    }[which]
    python, batched = both(events, wanted)
    assert python == batched
    if which not in ("absent", "prefix"):
        assert python[0], wanted  # the trace was found: the comparison says something


@needs_native
@pytest.mark.parametrize("max_pending", [1, 10, 200])
def test_held_limits_agree(max_pending):
    events = demo_events(1500, seed=3)
    some = copy(events[900]).ids
    python, batched = both(events, some.correlation_id, max_pending=max_pending, max_events=40)
    assert python == batched
    assert python[2] > 0  # events were dropped at the limit


@needs_native
@pytest.mark.parametrize("style", scenarios.STYLES)
def test_scenario_streams_agree(style):
    stream = scenarios.Stream(style=style, partitions=3, seed=5)
    stream.background(400, [f"k{i}" for i in range(10)])
    events = [
        Event("orders", r.partition, i, r.ts, 1, r.key and r.key.encode(), r.value, r.headers)
        for i, r in enumerate(stream.records)
    ]
    wanted = copy(events[200]).ids.event_id
    python, batched = both(events, wanted, batch=7)
    assert python == batched and python[0]


IDS = st.sampled_from(["a", "b", "c", "d", "e", "ab", "abc", "f" * 16])
HEX = st.sampled_from(["1" * 16, "2" * 16, "3" * 16, "4" * 16])


@st.composite
def linked_events(draw):
    """Events whose ids link in every way (ids, causes, spans, shared correlations)."""
    n = draw(st.integers(1, 40))
    out = []
    for i in range(n):
        headers = []
        if draw(st.booleans()):
            headers.append(("event-id", draw(IDS).encode()))
        for cause in draw(st.lists(IDS, max_size=2)):
            headers.append(("causation-id", cause.encode()))
        if draw(st.booleans()):
            headers.append(("correlation-id", draw(IDS).encode()))
        if draw(st.booleans()):
            trace, span = draw(st.sampled_from(["a" * 32, "b" * 32])), draw(HEX)
            parent = draw(st.one_of(st.none(), HEX))
            b3 = f"{trace}-{span}-1" + (f"-{parent}" if parent else "")
            headers.append(("b3", b3.encode()))
        out.append(Event("t", draw(st.integers(0, 2)), i, i, 1, None, None, tuple(headers)))
    return out


@needs_native
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(linked_events(), st.one_of(IDS, st.sampled_from(["a" * 32, "aaaa", "zz"])),
       st.integers(1, 9), st.integers(1, 50))  # fmt: skip
def test_linked_streams_agree(events, wanted, batch, max_pending):
    python, batched = both(events, wanted, batch=batch, max_pending=max_pending)
    assert python == batched


def test_held_events_join_late_without_their_value():
    """A held event that a later member links to joins as its identity (no value)."""
    cause = Event("t", 0, 0, 1, 1, None, b'{"x":1}', (("event-id", b"c1"),))
    effect = Event("t", 0, 1, 2, 1, None, b"{}", (("event-id", b"e1"), ("causation-id", b"c1"),
                                                   ("correlation-id", b"W")))  # fmt: skip
    collector = TraceCollector("W")
    collector.offer_batch([cause, effect], RecordProblems())
    members = collector.result()
    assert [(m.offset, m.value) for m in members] == [(0, None), (1, b"{}")]
    assert members[0].ids == EventIds(event_id="c1")
