"""The flow model's per-event bookkeeping in the extension against Python's.

Differential: the same stream goes through a ``FlowModel`` on the extension's twin
(``native/src/flow.rs``, in batches) and one on :class:`~evtui.core.flow.FlowEvents`
(the specification, event by event); every snapshot (each node's and edge's
attributes), the structure changes in order, the counters and the sizes must be equal.
The streams are open-ended (hypothesis): producers named by service or source or not
at all, empty names, repeated and self-naming ids, causes seen before, after and never,
spans of one trace, unordered times, group reports counting toward the edge bound, and
bounds small enough to evict on nearly every record.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evtui.core import native
from evtui.core.event import Event
from evtui.core.flow import FlowModel
from evtui.core.ids import EventIds
from evtui.core.lag import GroupLag, LagReport, PartitionLag, Status
from evtui.sim.shop import ShopSimulator

pytestmark = pytest.mark.skipif(not native.available(), reason="the extension is not built")

TOPICS = ["orders", "payments", "a/b", "ünï"]
NAMES = [None, "", "shop", "/shop/pay", "pay", "x" * 40]
IDS = [None, "", "e1", "e2", "E1", "3f2a", "3F2A", "123e4567-e89b-12d3-a456-426614174000"]


@st.composite
def records(draw):
    topic = draw(st.sampled_from(TOPICS))
    ids = EventIds(
        event_id=draw(st.sampled_from(IDS)),
        causation_ids=tuple(draw(st.lists(st.sampled_from(IDS[1:]), max_size=3))),
        trace_id=draw(st.sampled_from([None, "", "t1", "t2"])),
        span_id=draw(st.sampled_from([None, "", "s1", "s2", "s3"])),
        parent_span_id=draw(st.sampled_from([None, "", "s1", "s2", "s3"])),
        service=draw(st.sampled_from(NAMES)),
        source=draw(st.sampled_from(NAMES)),
    )
    value = draw(st.sampled_from([None, b"", b"{}", b"x" * 300]))
    at = draw(st.integers(-10, 90)) * 500  # on a grid: window and idle edges are hit exactly
    part = draw(st.integers(0, 2))
    return topic, part, at, value, ids


@st.composite
def streams(draw):
    steps = draw(st.lists(st.one_of(records(), st.lists(st.sampled_from(TOPICS))), max_size=120))
    bounds = {
        "window_ms": draw(st.sampled_from([1_000, 5_000, 60_000])),
        "idle_ms": draw(st.sampled_from([2_000, 300_000])),
        "expire_ms": draw(st.sampled_from([10_000, 1_800_000])),
        "max_edges": draw(st.integers(2, 30)),
        "max_known": draw(st.integers(1, 40)),
        "max_waiting": draw(st.integers(1, 20)),
    }
    return steps, bounds


def report(groups_topics: list[str]) -> LagReport:
    out = []
    for i, topic in enumerate(groups_topics):
        part = PartitionLag(
            topic, 0, 95, 100, 0, 5, 1.5, "estimated", Status.LAGGING, "", member="c@/h"
        )
        out.append(GroupLag(f"g{i % 3}", "Stable", 1, (part,)))
    return LagReport(out)


def replay(steps, bounds, how: str, batch: int) -> tuple[FlowModel, list]:
    flow = FlowModel(**bounds, native=None if how == "native" else False)
    assert flow.native == (how == "native")
    offsets: dict[tuple[str, int], int] = {}
    pending: list[Event] = []
    pictures = []

    def flush():
        failed = flow.offer_batch(pending)
        assert failed == []
        pending.clear()

    for step in steps:
        if isinstance(step, list):  # a lag poll: its groups' edges count toward the bound
            flush()
            flow.groups(report(step))
            continue
        topic, part, at, value, ids = step
        offset = offsets.get((topic, part), 0)
        offsets[(topic, part)] = offset + 1
        event = Event(topic, part, offset, at, 1, None, value, ())
        setattr_ids(event, ids)
        pending.append(event)
        if len(pending) >= batch:
            flush()
            pictures.append(picture(flow))
    flush()
    pictures.append(picture(flow))
    return flow, pictures


def setattr_ids(event: Event, ids: object) -> None:
    object.__setattr__(event, "_ids", ids)  # as extracted (Event is frozen)


def picture(flow: FlowModel, now: int | None = None) -> dict:
    graph = flow.snapshot(now)
    return {
        "nodes": [(n, dict(a)) for n, a in graph.nodes(data=True)],
        "edges": [(u, v, dict(a)) for u, v, a in graph.edges(data=True)],
        "changes": list(flow.changes),
        "counters": (flow.version, flow.events, flow.evicted, flow.dropped_waiting,
                     flow.newest_ms),
        "sizes": {k: v for k, v in flow.sizes().items() if k != "names"},  # (caches differ)
    }  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams(), st.sampled_from([1, 7, 500]))
def test_the_twins_agree_on_generated_streams(stream, batch):
    steps, bounds = stream
    python, expected = replay(steps, bounds, "python", 1)
    ours, got = replay(steps, bounds, "native", batch)
    assert got[-1] == expected[-1]
    for now in (None, -10_000, 0, 5_000, 12_000, 45_000, 10**7):  # idle and expired later
        assert picture(ours, now) == picture(python, now)


def test_the_twins_agree_on_the_demo_shop_with_faults():
    sim = ShopSimulator(seed=11, rate=200)  # (its default faults: retries, duplicates, ...)
    records = sim.take(6_000)
    events = [
        Event(r.topic, i % 3, i, sim.start_ms + r.at_ms, 1, r.key, r.value, r.headers)
        for i, r in enumerate(records)
    ]
    bounds = {"max_edges": 8, "max_known": 500, "max_waiting": 50}
    python = FlowModel(**bounds, native=False)
    for event in events:
        python.offer(event)
    ours = FlowModel(**bounds)
    for start in range(0, len(events), 256):
        assert ours.offer_batch(events[start : start + 256]) == []
    assert ours.evicted > 0
    assert picture(ours) == picture(python)


def test_a_record_that_cannot_be_read_fails_alone():
    flow = FlowModel()
    good = Event("t", 0, 0, 1_000, 1, None, json.dumps({"service": "s"}).encode(), ())
    bad = Event("t", 0, 1, 2_000, 1, None, b"{}", ())
    setattr_ids(bad, ("not", "an", "EventIds"))  # a plugin that broke its ids
    failed = flow.offer_batch([good, bad, good])
    assert [index for index, _ in failed] == [1]
    assert flow.events == 2
