"""Causal traces: membership, the graph's rules, renderers, the live index, the demo's truth."""

from __future__ import annotations

import time
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evtui.core.event import Event
from evtui.core.traces import (
    EXPLICIT,
    INFERRED,
    TraceCollector,
    TraceIndex,
    build_trace,
    render_dot,
    render_mermaid,
    render_tree,
    waterfall,
)
from evtui.sim.model import FaultRates
from evtui.sim.shop import ShopSimulator
from evtui.sources.demo import DemoSource

T0 = 1_767_225_600_000


def tr(n: int) -> str:
    return f"{n:032x}"


def sp(n: int) -> str:
    return f"{n:016x}"


def ev(
    offset,
    ts,
    *,
    eid=None,
    corr=None,
    causes=(),
    trace=None,
    span=None,
    parent=None,
    service=None,
    etype="Thing",
    topic="t",
    partition=0,
    key=b"k",
):
    """An event whose ids are all in headers (B3 multi for the trace context)."""
    hs = []
    if eid:
        hs.append(("event-id", eid))
    if corr:
        hs.append(("correlation-id", corr))
    hs += [("causation-id", c) for c in causes]
    if trace:
        hs.append(("X-B3-TraceId", trace))
        if span:
            hs.append(("X-B3-SpanId", span))
        if parent:
            hs.append(("X-B3-ParentSpanId", parent))
    if service:
        hs.append(("service", service))
    if etype:
        hs.append(("event-type", etype))
    headers = tuple((n, v.encode()) for n, v in hs)
    return Event(topic, partition, offset, T0 + ts, 1, key, None, headers)


def ref(offset, topic="t", partition=0):
    return f"{topic}[{partition}]@{offset}"


def edges(trace):
    return {(u, v, k) for u, v, k in trace.graph.edges(data="kind")}


# -- explicit edges ---------------------------------------------------------------------------


def test_causation_ids_give_explicit_edges_with_latency():
    events = [
        ev(0, 0, eid="a", corr="c", etype="OrderPlaced", service="shop"),
        ev(1, 10, eid="b", corr="c", causes=["a"], etype="StockReserved", service="stock"),
        ev(2, 25, eid="d", corr="c", causes=["b"], etype="PaymentTaken", service="pay"),
        ev(3, 12, eid="e", corr="c", causes=["a"], etype="Mailed", service="mail"),
    ]
    trace = build_trace("c", events)
    assert [e.ref for e in trace.events] == [ref(0), ref(1), ref(3), ref(2)]  # time order
    assert edges(trace) == {
        (ref(0), ref(1), EXPLICIT),
        (ref(1), ref(2), EXPLICIT),
        (ref(0), ref(3), EXPLICIT),
    }
    assert trace.graph.edges[ref(1), ref(2)]["latency_ms"] == 15
    node = trace.graph.nodes[ref(1)]
    assert (node["service"], node["event_type"], node["event_id"], node["topic"]) == (
        "stock",
        "StockReserved",
        "b",
        "t",
    )
    assert node["timestamp_ms"] == T0 + 10 and node["event"] is events[1]
    assert trace.roots == [ref(0)]
    assert trace.orphans == [] and trace.cycles == []
    assert trace.critical_path == [ref(0), ref(1), ref(2)]


def test_span_parentage_gives_explicit_edges_within_one_trace_only():
    t1, t2 = tr(1), tr(2)
    events = [
        ev(0, 0, trace=t1, span=sp(1)),
        ev(1, 5, trace=t1, span=sp(2), parent=sp(1)),
        ev(2, 9, trace=t1, span=sp(3), parent=sp(2)),
        ev(3, 9, trace=t2, span=sp(4), parent=sp(1)),  # same parent span, other trace
        ev(4, 12, trace=t1, span=sp(5), parent=sp(99)),  # parent span outside Kafka
    ]
    trace = build_trace(t1, events)
    assert edges(trace) == {(ref(0), ref(1), EXPLICIT), (ref(1), ref(2), EXPLICIT)}
    assert trace.orphans == []  # a missing parent span is not an orphan cause
    assert any("parent span not among these events" in n for n in trace.notes)
    assert ref(3) in trace.roots and ref(4) in trace.roots


def test_duplicate_event_ids_link_to_the_earliest_and_are_noted():
    events = [
        ev(0, 0, eid="a", corr="c"),
        ev(1, 10, eid="b", corr="c", causes=["a"]),
        ev(2, 20, eid="b", corr="c", causes=["a"]),  # b produced twice
        ev(3, 30, eid="x", corr="c", causes=["b"]),
    ]
    trace = build_trace("c", events)
    assert edges(trace) == {
        (ref(0), ref(1), EXPLICIT),
        (ref(0), ref(2), EXPLICIT),  # the copy has its own cause
        (ref(1), ref(3), EXPLICIT),  # effects link to the first copy
    }
    assert any(f"duplicate event id b at refs {ref(1)}, {ref(2)}" in n for n in trace.notes)
    assert trace.fan_out(ref(0)) == 2


def test_a_missing_cause_is_an_orphan_root_and_is_never_inferred():
    events = [
        ev(0, 0, eid="a", corr="c", trace=tr(1), span=sp(1)),
        ev(1, 10, eid="b", corr="c", causes=["gone"], trace=tr(1), span=sp(2)),
        ev(2, 20, eid="d", corr="c", causes=["b", "lost"]),
    ]
    trace = build_trace("c", events)
    assert trace.orphans == ["gone", "lost"]
    assert trace.missing == {ref(1): ["gone"], ref(2): ["lost"]}
    assert edges(trace) == {(ref(1), ref(2), EXPLICIT)}  # no b <~ a despite the shared trace
    assert trace.roots == [ref(0), ref(1)]
    text = render_tree(trace)
    assert "(orphan: cause gone never seen)" in text
    assert "(orphan: cause lost never seen)" in text


def test_an_event_naming_itself_is_ignored_with_a_note():
    events = [
        ev(0, 0, eid="a", corr="c", causes=["a"]),
        ev(1, 5, corr="c", trace=tr(1), span=sp(7), parent=sp(7)),
    ]
    trace = build_trace("c", events)
    assert trace.graph.number_of_edges() == 0 and trace.orphans == []
    assert f"event {ref(0)} names itself as its cause: ignored" in trace.notes
    assert f"event {ref(1)} names its own span as its parent: ignored" in trace.notes


# -- cycles -----------------------------------------------------------------------------------


def test_a_two_cycle_is_reported_and_broken():
    events = [
        ev(0, 0, eid="a", corr="c", causes=["b"]),
        ev(1, 10, eid="b", corr="c", causes=["a"]),
        ev(2, 30, eid="d", corr="c", causes=["b"]),
    ]
    trace = build_trace("c", events)
    assert trace.cycles == [[ref(0), ref(1)]]
    assert trace.dropped_edges == [(ref(1), ref(0))]
    assert trace.graph.has_edge(ref(1), ref(0))  # the graph keeps it; the tree does not
    assert trace.roots == [ref(0)]
    assert trace.critical_path == [ref(0), ref(1), ref(2)]
    assert [r[0] for r in waterfall(trace)] == [ref(0), ref(1), ref(2)]
    assert any(n.startswith("cycle: ") for n in trace.notes)
    assert f"cycle: {ref(0)} -> {ref(1)} -> {ref(0)}" in render_tree(trace)


def test_longer_cycles_and_several_components():
    events = [
        ev(0, 0, eid="a", corr="c", causes=["d"]),
        ev(1, 1, eid="b", corr="c", causes=["a"]),
        ev(2, 2, eid="x", corr="c", causes=["b"]),
        ev(3, 3, eid="d", corr="c", causes=["x"]),  # a -> b -> x -> d -> a
        ev(4, 4, eid="p", corr="c", causes=["q"]),
        ev(5, 5, eid="q", corr="c", causes=["p", "b"]),  # p <-> q, fed from the first cycle
    ]
    trace = build_trace("c", events)
    assert trace.cycles == [[ref(0), ref(1), ref(2), ref(3)], [ref(4), ref(5)]]
    assert trace.roots == [ref(0)]
    # entered from b, the p <-> q cycle hangs off q: p -> q is the edge left out
    assert trace.dropped_edges == [(ref(3), ref(0)), (ref(4), ref(5))]
    assert [(r, d) for r, d, _s, _l in waterfall(trace)] == [
        (ref(0), 0),
        (ref(1), 1),
        (ref(2), 2),
        (ref(3), 3),
        (ref(5), 2),
        (ref(4), 3),
    ]


def test_a_big_cycle_does_not_hang():
    n = 20_000
    events = [ev(i, i, eid=f"e{i}", corr="c", causes=[f"e{(i - 1) % n}"]) for i in range(n)]
    start = time.perf_counter()
    trace = build_trace("c", events)
    assert len(trace.cycles) == 1 and len(trace.cycles[0]) == n
    assert len(trace.critical_path) == n
    assert time.perf_counter() - start < 10


# -- inference --------------------------------------------------------------------------------


def test_an_edge_is_inferred_from_the_only_earlier_event_of_the_trace():
    t = tr(5)
    events = [
        ev(0, 0, trace=t, span=sp(1), service="shop", etype="OrderPlaced"),
        ev(1, 10, trace=t, span=sp(2), service="stock", etype="StockReserved"),
        ev(2, 10, trace=t, span=sp(3), service="pay", etype="PaymentTaken"),
        ev(3, 30, trace=t, span=sp(4), service="ship", etype="Shipped"),  # two earlier: no
    ]
    trace = build_trace(t, events)
    assert edges(trace) == {(ref(0), ref(1), INFERRED), (ref(0), ref(2), INFERRED)}
    assert trace.roots == [ref(0), ref(3)]
    assert any("2 edges inferred" in n for n in trace.notes)
    text = render_tree(trace)
    assert f"~> +10 ms (+10 ms)  stock  {ref(1)}  StockReserved" in text
    assert 'style="dashed' in render_dot(trace)
    assert "-.->" in render_mermaid(trace)


@pytest.mark.parametrize(
    ("second", "why"),
    [
        ({"causes": ["a"]}, "explicit link"),
        ({"causes": ["gone"]}, "orphan"),
        ({"parent": sp(99)}, "names a parent span"),
        ({"span": sp(1)}, "same span"),
        ({"service": "shop"}, "same service"),
        ({"eid": "a"}, "a copy"),
        ({"ts": 0}, "same time"),
    ],
)
def test_no_inference_without_strong_evidence(second, why):
    t = tr(5)
    first = ev(0, 0, eid="a", trace=t, span=sp(1), service="shop")
    kw = {"trace": t, "span": sp(2), "service": "stock", "eid": "b"} | second
    ts = kw.pop("ts", 10)
    trace = build_trace(t, [first, ev(1, ts, **kw)])
    assert not [e for e in edges(trace) if e[2] == INFERRED], why


def test_no_inference_when_two_events_share_the_first_time_or_a_cycle_would_form():
    t = tr(6)
    tie = [ev(0, 0, trace=t, span=sp(1)), ev(1, 0, trace=t, span=sp(2)), ev(2, 5, trace=t)]
    assert build_trace(t, tie).graph.number_of_edges() == 0
    # the first event names the second as its cause: inferring second <~ first would cycle
    loop = [
        ev(0, 0, eid="a", causes=["b"], trace=t, span=sp(1)),
        ev(1, 5, eid="b", trace=t, span=sp(2)),
    ]
    trace = build_trace(t, loop)
    assert edges(trace) == {(ref(1), ref(0), EXPLICIT)}
    assert trace.graph.edges[ref(1), ref(0)]["latency_ms"] == -5  # cause after effect


# -- critical path, fan-in/out ----------------------------------------------------------------


def test_critical_path_takes_the_longest_latency_and_fan_counts():
    events = [
        ev(0, 0, eid="r", corr="c"),
        ev(1, 5, eid="fast", corr="c", causes=["r"]),
        ev(2, 50, eid="slow", corr="c", causes=["r"]),
        ev(3, 60, eid="join", corr="c", causes=["fast", "slow"]),
        ev(4, 61, eid="leaf1", corr="c", causes=["fast"]),
        ev(5, 200, eid="other", corr="c"),  # a second root, alone
    ]
    trace = build_trace("c", events)
    assert trace.critical_path == [ref(0), ref(1), ref(4)]  # 61 ms, ties broken by hops
    assert trace.fan_out(ref(0)) == 2 and trace.fan_in(ref(3)) == 2
    assert trace.fan_out(ref(1)) == 2 and trace.fan_in(ref(0)) == 0
    assert trace.fan_out("nope") == 0
    assert trace.roots == [ref(0), ref(5)]


def test_critical_path_prefers_more_hops_on_equal_latency():
    events = [
        ev(0, 0, eid="r", corr="c"),
        ev(1, 10, eid="m", corr="c", causes=["r"]),
        ev(2, 20, eid="x", corr="c", causes=["m", "r"]),
    ]
    assert build_trace("c", events).critical_path == [ref(0), ref(1), ref(2)]


# -- JSON -------------------------------------------------------------------------------------


def test_json_shape_is_exact():
    events = [
        ev(7, 0, eid="a", corr="c", service="shop", key=b"order-1", topic="orders"),
        ev(3, 4, eid="b", corr="c", causes=["a", "zz"], key=b"\xff\x00", topic="pay"),
        ev(1, 9, eid="d", corr="c", causes=["b"], key=None, topic="pay", partition=2),
    ]
    data = build_trace("c", events).to_json()
    assert data == {
        "correlation_id": "c",
        "events": [
            {
                "ref": "orders[0]@7",
                "topic": "orders",
                "partition": 0,
                "offset": 7,
                "timestamp_ms": T0,
                "key": "order-1",
                "event_id": "a",
                "trace_id": None,
                "service": "shop",
                "parents": [],
            },
            {
                "ref": "pay[0]@3",
                "topic": "pay",
                "partition": 0,
                "offset": 3,
                "timestamp_ms": T0 + 4,
                "key": "0xff00",
                "event_id": "b",
                "trace_id": None,
                "service": None,
                "parents": ["orders[0]@7"],
            },
            {
                "ref": "pay[2]@1",
                "topic": "pay",
                "partition": 2,
                "offset": 1,
                "timestamp_ms": T0 + 9,
                "key": None,
                "event_id": "d",
                "trace_id": None,
                "service": None,
                "parents": ["pay[0]@3"],
            },
        ],
        "edges": [["orders[0]@7", "pay[0]@3", "explicit"], ["pay[0]@3", "pay[2]@1", "explicit"]],
        "orphans": ["zz"],
        "critical_path": ["orders[0]@7", "pay[0]@3", "pay[2]@1"],
        "cycles": [],
        "notes": [],
    }


# -- renderers --------------------------------------------------------------------------------


def small_trace():
    events = [
        ev(0, 0, eid="a", corr="c", service="shop", etype="OrderPlaced", topic="orders"),
        ev(0, 12, eid="b", corr="c", causes=["a"], service="stock", etype="StockReserved"),
        ev(1, 40, eid="d", corr="c", causes=["b"], service="pay", etype="PaymentTaken"),
        ev(2, 45, eid="e", corr="c", causes=["a"], service="mail", etype="Mailed"),
        ev(3, 50, eid="f", corr="c", causes=["d", "e"], service="ship", etype="Shipped"),
        ev(4, 60, eid="g", corr="c", causes=["nope"], service="audit", etype="Audited"),
    ]
    return build_trace("c", events)


def test_render_tree_content():
    text = render_tree(small_trace())
    assert text.splitlines() == [
        "trace c: 6 events, 5 edges (0 inferred), 2 roots, 1 orphan, 0 cycles, 60 ms",
        "* +0 ms  shop  orders[0]@0  OrderPlaced",
        "*   -> +12 ms (+12 ms)  stock  t[0]@0  StockReserved",
        "*     -> +40 ms (+28 ms)  pay  t[0]@1  PaymentTaken",
        "*       -> +50 ms (+10 ms)  ship  t[0]@3  Shipped",
        "    -> +45 ms (+45 ms)  mail  t[0]@2  Mailed",
        "      -> t[0]@3 (shown above)",
        "  +60 ms  audit  t[0]@4  Audited  (orphan: cause nope never seen)",
    ]


def test_waterfall_rows_in_tree_order():
    assert waterfall(small_trace()) == [
        ("orders[0]@0", 0, 0, 0),
        ("t[0]@0", 1, 12, 12),
        ("t[0]@1", 2, 40, 28),
        ("t[0]@3", 3, 50, 10),
        ("t[0]@2", 1, 45, 45),
        ("t[0]@4", 0, 60, 0),
    ]


def test_render_dot_content():
    dot = render_dot(small_trace())
    assert dot.startswith('digraph "trace c" {\n  rankdir=LR;')
    assert '"orders[0]@0" [label="shop\\nOrderPlaced\\norders[0]@0", style=bold' in dot
    assert '"t[0]@2" [label="mail\\nMailed\\nt[0]@2"];' in dot  # not on the critical path
    assert '"orders[0]@0" -> "t[0]@0" [label="+12 ms", style="bold", penwidth=2];' in dot
    assert '"orders[0]@0" -> "t[0]@2" [label="+45 ms"];' in dot
    assert 'missing0 [label="never seen\\nnope", shape=ellipse, style=dashed];' in dot
    assert 'missing0 -> "t[0]@4" [style=dotted, label="orphan"];' in dot
    assert dot.rstrip().endswith("}")


def test_render_mermaid_content():
    text = render_mermaid(small_trace())
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    assert '  n0["shop<br/>OrderPlaced<br/>orders[0]@0"]' in lines
    assert '  n0 -->|"+12 ms"| n1' in lines
    assert '  m0(["never seen: nope"])' in lines
    assert "  m0 -. orphan .-> n5" in lines
    assert "  class n0,n1,n2,n4 critical" in lines
    assert "  linkStyle 0,2,3 stroke-width:3px" in lines


def test_labels_are_escaped():
    trace = build_trace("c", [ev(0, 0, eid="a", corr="c", etype='Say "hi"\\')])
    assert 'Say \\"hi\\"\\\\' in render_dot(trace)
    assert "Say #quot;hi#quot;" in render_mermaid(trace)


def test_render_tree_collapses_repeated_siblings():
    events = [ev(0, 0, eid="root", corr="c", etype="Batch")]
    events += [
        ev(i, i, eid=f"s{i}", corr="c", causes=["root"], etype="Ship") for i in range(1, 121)
    ]
    events += [ev(200, 500, eid="m", corr="c", causes=["root"], etype="Mail")]
    trace = build_trace("c", events)
    text = render_tree(trace, max_children=50)
    assert "… 70 more Ship" in text
    assert sum(1 for line in text.splitlines() if line.endswith("  Ship")) == 50
    assert "Mail" in text
    assert len(waterfall(trace)) == 122  # the waterfall keeps every event


# -- collection -------------------------------------------------------------------------------


def test_collector_keeps_causes_scanned_after_their_effects():
    flow = [
        ev(0, 0, eid="a", corr="c"),
        ev(1, 10, eid="b", causes=["a", "up"]),  # no correlation id: linked by its causes
        ev(2, 20, eid="d", causes=["b"]),  # linked through b
        ev(3, 30, eid="x", corr="other"),  # unrelated
        ev(4, 5, eid="up", corr="up-corr"),  # another cause of b, another correlation
    ]
    collector = TraceCollector("c")
    results = [collector.offer(e) for e in reversed(flow)]  # every effect before its cause
    assert results == [False, False, False, False, True]  # only a matches when offered
    assert [e.ref for e in collector.result()] == [ref(0), ref(4), ref(1), ref(2)]
    assert not collector.truncated and collector.notes == []
    assert collector.pending == 1  # the unrelated event, still held


def test_collector_membership_via_trace_id_only():
    t = tr(9)
    events = [
        ev(0, 0, corr="x", trace=t, span=sp(1)),
        ev(1, 5, corr="y", trace=t, span=sp(2)),
        ev(2, 9, corr="z", trace=tr(10), span=sp(3), parent=sp(2)),  # other trace
        ev(3, 8, eid="e", corr="w", causes=["nothing"]),
    ]
    collector = TraceCollector(t)
    assert [collector.offer(e) for e in events] == [True, True, False, False]
    assert [e.ref for e in collector.result()] == [ref(0), ref(1)]


def test_collector_membership_via_span_parentage_in_either_order():
    t = tr(11)
    child = ev(1, 5, corr="y", trace=t, span=sp(2), parent=sp(1))
    grandchild = ev(2, 7, trace=t, span=sp(3), parent=sp(2))
    root = ev(0, 0, eid="r", trace=t, span=sp(1))
    collector = TraceCollector("r")
    for e in (grandchild, child, root):
        collector.offer(e)
    assert [e.ref for e in collector.result()] == [ref(0), ref(1), ref(2)]


def test_collector_membership_via_event_id_only():
    events = [
        ev(0, 0, eid="a", corr="c1"),
        ev(1, 5, eid="b", corr="c2", causes=["a"]),
        ev(2, 9, eid="d", corr="c3", causes=["b"]),
        ev(3, 9, eid="s", corr="c4", causes=["a"]),  # a sibling: linked through a
        ev(4, 9, eid="u", corr="c1"),  # same correlation as a, no link: not a member
    ]
    collector = TraceCollector("b")
    for e in events:
        collector.offer(e)
    assert [e.ref for e in collector.result()] == [ref(0), ref(1), ref(2), ref(3)]
    # an event naming the wanted id as its cause belongs even when that event is never seen
    lone = TraceCollector("missing")
    assert lone.offer(ev(0, 0, eid="z", causes=["missing"]))


def test_collector_bounds_and_notes():
    collector = TraceCollector("c", max_events=2, max_pending=3)
    for i in range(10):
        collector.offer(ev(i, i, eid=f"u{i}", corr="other"))
    for i in range(10, 14):
        assert collector.offer(ev(i, i, eid=f"m{i}", corr="c"))
    assert [e.ref for e in collector.result()] == [ref(10), ref(11)]
    assert collector.truncated
    assert collector.pending == 3
    assert collector.notes == [
        "stopped keeping events after 2 (2 more belonged)",
        "7 events kept only as possible causes were dropped (limit)",
    ]


def _random_events(rng, n: int) -> list[Event]:
    """Events linked every way the collector knows, on four partitions."""
    events = []
    for i in range(n):
        causes = [f"e{rng.randrange(i)}" for _ in range(rng.randrange(3)) if i] or (
            ["gone"] if rng.random() < 0.05 else []
        )
        traced = rng.random() < 0.3
        events.append(
            ev(
                i,
                rng.randrange(1000),
                eid=f"e{i}" if rng.random() < 0.9 else None,
                corr=rng.choice(["c", "d", None, None, None]),
                causes=causes,
                trace=tr(rng.randrange(1, 4)) if traced else None,
                span=sp(i + 1) if traced else None,
                parent=sp(rng.randrange(1, i + 1)) if traced and i and rng.random() < 0.5 else None,
                partition=rng.randrange(4),
            )
        )
    return events


@pytest.mark.parametrize("seed", range(40))
def test_collectors_on_shares_of_the_partitions_settle_on_one_collectors_members(seed):
    """What ``evtui trace --jobs N`` relies on: swapping admitted ids until none joins."""
    import random

    rng = random.Random(seed)
    events = _random_events(rng, 60)
    wanted = rng.choice(["c", "d", "e7", tr(2)])
    alone = TraceCollector(wanted)
    for e in rng.sample(events, len(events)):
        alone.offer(e)
    shares = [TraceCollector(wanted) for _ in range(3)]
    for e in rng.sample(events, len(events)):
        shares[e.partition % 3].offer(e)
    found = [c.admitted() for c in shares]
    while any(found):
        found = [
            c.adopt([ids for j, batch in enumerate(found) if j != i for ids in batch])
            for i, c in enumerate(shares)
        ]
    together = sorted(e.ref for c in shares for e in c.result())
    assert together == sorted(e.ref for e in alone.result())


def test_a_long_chain_against_the_scan_order_settles_through_the_index(monkeypatch):
    import evtui.core.traces as traces

    chain = [ev(i, i, eid=f"e{i}", causes=[f"e{i - 1}"] if i else []) for i in range(30)]
    chain[-1] = ev(29, 29, eid="e29", corr="c", causes=["e28"])  # only the last carries it
    passes = []
    monkeypatch.setattr(TraceCollector, "_pass", lambda self, f=TraceCollector._pass: (
        passes.append(1), f(self)))  # fmt: skip
    collector = TraceCollector("c")
    for e in chain:  # each cause is held before the effect that names it joins
        collector.offer(e)
    assert [e.ref for e in collector.result()] == [e.ref for e in chain]
    assert len(passes) == traces.SETTLE_PASSES  # then one index, not a pass per link
    assert collector.pending == 0


def test_collector_result_is_deduplicated_by_ref():
    collector = TraceCollector("c")
    e = ev(0, 0, eid="a", corr="c")
    collector.offer(e)
    collector.offer(ev(0, 0, eid="a", corr="c"))
    assert collector.result() == [e]


# -- the index --------------------------------------------------------------------------------


def test_index_lookup_same_membership_and_eviction():
    index = TraceIndex(max_events=5)
    flow = [
        ev(0, 0, eid="a", corr="c"),
        ev(1, 10, eid="b", causes=["a"]),
        ev(2, 20, eid="d", corr="c", causes=["b"]),
    ]
    for e in reversed(flow):
        index.add(e)
    index.add(ev(3, 1, eid="z", corr="other"))
    assert index.lookup("c") == flow
    assert index.lookup("b") == flow
    assert index.lookup("nope") == []
    for i in range(4, 8):
        index.add(ev(i, i, eid=f"x{i}", corr=f"k{i}"))
    assert index.stats.kept == 5 and index.stats.evicted == 3
    assert (index.kept, index.evicted) == (5, 3)
    assert index.lookup("c") == []  # all three evicted (added first)
    assert index.lookup("other") == [ev(3, 1, eid="z", corr="other")]
    index.add(Event("t", 0, 99, T0, 1, None, b"no ids", ()))
    assert index.kept == 5 and index.evicted == 3  # events without ids are not kept


def test_index_expires_what_the_window_let_go_then_wraps_around_as_before():
    """The console stamps each event with its place in the window and expires the evicted:
    a sampled stream must not keep events in the index that the window no longer holds."""
    index = TraceIndex(max_events=4)
    for i in range(3):
        index.add(ev(i, i, eid=f"e{i}", corr="c"), stamp=10 * i)
    assert index.expire(5) == 1  # e0 (stamp 0) only: e1 has 10
    assert (index.kept, index.evicted) == (2, 1)
    assert [e.offset for e in index.lookup("c")] == [1, 2]
    assert index.expire(5) == 0
    for i in range(3, 9):  # past the ring's size: the oldest live ones go as before
        index.add(ev(i, i, eid=f"e{i}", corr="c" if i % 2 else "d"), stamp=10 * i)
    assert index.kept == 4 and index.evicted == 5
    assert [e.offset for e in index.lookup("c")] == [5, 7]
    assert [e.offset for e in index.lookup("d")] == [6, 8]
    assert index.expire(1_000) == 4 and index.kept == 0
    assert index.lookup("c") == [] and index.lookup("e8") == []
    index.add(ev(9, 9, eid="e9", corr="c"), stamp=90)
    assert [e.offset for e in index.lookup("c")] == [9] and index.kept == 1


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 6)), max_size=60))
def test_index_with_expiry_holds_exactly_the_live_events(steps):
    """Against a model: the newest ``max_events`` added, minus those expired."""
    index = TraceIndex(max_events=5)
    model: list[tuple[int, Event]] = []
    for n, (corr, back) in enumerate(steps):
        stamp = n + 1
        event = ev(n, n, eid=f"e{n}", corr=f"c{corr}")
        index.add(event, stamp=stamp)
        model = [*model, (stamp, event)][-5:]
        if back % 3 == 0:
            cut = stamp - back
            index.expire(cut)
            while model and model[0][0] < cut:
                model.pop(0)
        assert index.kept == len(model)
        for c in range(4):
            want = [e for _, e in model if e.ids.correlation_id == f"c{c}"]
            assert sorted(index.lookup(f"c{c}"), key=lambda e: e.offset) == want


def test_index_ids_most_recent_first():
    index = TraceIndex(max_events=100)
    for i, corr in enumerate(["ab1", "ab2", "zz", "ab3", "ab1"]):
        index.add(ev(i, i, eid=f"e{i}", corr=corr))
    assert index.ids("ab") == ["ab1", "ab3", "ab2"]
    assert index.ids("ab", limit=2) == ["ab1", "ab3"]
    assert index.ids("") == ["ab1", "ab3", "zz", "ab2"]
    assert index.ids("q") == []


def test_index_long_lists_are_trimmed_as_events_are_evicted():
    index = TraceIndex(max_events=1000)
    for i in range(10_000):
        index.add(ev(i, i, eid=f"e{i}", corr="hot", causes=["root"]))
    hot = index._corr.map["hot"]
    assert len(hot) <= 2000  # trimmed, amortised
    assert len(index.lookup("hot")) == 1000
    assert len(index._links.tables[0]) == 1000  # event ids of evicted events are gone


# -- scale ------------------------------------------------------------------------------------


N = 100_000


def chain(n):
    return [ev(i, i, eid=f"e{i}", corr="big", causes=[f"e{i - 1}"] if i else []) for i in range(n)]


def fan_out(n):
    root = [ev(0, 0, eid="root", corr="big", etype="Start")]
    return root + [
        ev(i, i % 1000 + 1, eid=f"e{i}", corr="big", causes=["root"], etype="Item")
        for i in range(1, n)
    ]


@pytest.mark.parametrize("make", [chain, fan_out])
def test_one_hundred_thousand_events_under_one_id(make):
    events = make(N)
    for e in events:
        e.ids  # noqa: B018 - extraction is not what is timed
    start = time.perf_counter()
    collector = TraceCollector("big", max_events=N)
    for e in reversed(events):  # effects before causes: everything is pending first
        collector.offer(e)
    kept = collector.result()
    assert len(kept) == N and not collector.truncated
    index = TraceIndex()
    for e in events:
        index.add(e)
    assert len(index.lookup("e5")) == N
    trace = build_trace("big", kept)
    assert trace.graph.number_of_edges() == N - 1 and trace.roots == [events[0].ref]
    rows = waterfall(trace)
    text = render_tree(trace)
    render_dot(trace)
    render_mermaid(trace)
    elapsed = time.perf_counter() - start
    assert len(rows) == N
    if make is chain:
        assert len(trace.critical_path) == N and rows[-1][1] == N - 1
        assert "[99999]" in text  # deep lines show their depth instead of indenting
        assert max(len(line) for line in text.splitlines()) < 250
    else:
        # 50 children shown, and the one on the critical path (the latest) as well
        assert text.count("\n") < 60 and "… 99,948 more Item" in text
    assert elapsed < 30, elapsed


# -- the demo's ground truth ------------------------------------------------------------------


@pytest.fixture(scope="module")
def shop():
    faults = FaultRates(0.05, 0.05, 0.08, 0.08, 0.05)
    sim = ShopSimulator(seed=11, rate=400, faults=faults)
    source = DemoSource(sim, partitions=3, duration_ms=6_000)
    events = [e for batch in source.batches() for e in batch]
    assert len(events) == sim.truth.emitted
    return sim, events


def truth_of(sim, corr):
    """The flow's event ids, cause -> effect id pairs and missing causes, from the truth."""
    ids = set(sim.truth.flows[corr])
    pairs, missing = set(), set()
    for eid in ids:
        cause = sim.truth.events[eid].causation_id
        if cause is None:
            continue
        if cause in sim.truth.events:
            pairs.add((cause, eid))
        else:
            missing.add(cause)
    return ids, pairs, missing


def test_every_demo_flow_matches_the_ground_truth(shop):
    sim, events = shop
    kinds = Counter(f.kind for f in sim.truth.faults)
    assert kinds["orphan"] and kinds["duplicate"] and kinds["cause_after_effect"]
    duplicates = Counter(f.event_ids[0] for f in sim.truth.faults if f.kind == "duplicate")
    index = TraceIndex()
    for e in events:
        index.add(e)
    negative = 0
    for corr in sim.truth.flows:
        ids, pairs, missing = truth_of(sim, corr)
        collector = TraceCollector(corr)
        for e in events:
            collector.offer(e)
        kept = collector.result()
        assert {e.ids.event_id for e in kept} == ids, corr
        assert len(kept) == len(ids) + sum(duplicates[i] for i in ids)  # copies kept too
        assert index.lookup(corr) == kept
        trace = build_trace(corr, kept)
        nodes = trace.graph.nodes
        got = {(nodes[u]["event_id"], nodes[v]["event_id"]) for u, v in trace.graph.edges}
        assert got == pairs, corr
        assert {k for *_e, k in trace.graph.edges(data="kind")} <= {EXPLICIT}
        assert trace.orphans == sorted(missing)
        assert trace.cycles == []
        negative += sum(1 for *_e, lat in trace.graph.edges(data="latency_ms") if lat < 0)
    assert negative >= kinds["cause_after_effect"] > 0


def test_demo_orphans_are_reported_as_orphan_roots(shop):
    sim, events = shop
    index = TraceIndex()
    for e in events:
        index.add(e)
    orphans = [f for f in sim.truth.faults if f.kind == "orphan"]
    for fault in orphans:
        effect, missing = fault.event_ids
        corr = sim.truth.events[effect].correlation_id
        trace = build_trace(corr, index.lookup(corr))
        assert missing in trace.orphans
        refs = [r for r in trace.graph if trace.graph.nodes[r]["event_id"] == effect]
        assert refs and all(r in trace.roots for r in refs)
        assert f"(orphan: cause {missing} never seen)" in render_tree(trace)


def test_demo_lookup_by_event_id_gives_the_connected_part_of_the_flow(shop):
    sim, events = shop
    index = TraceIndex()
    for e in events:
        index.add(e)
    checked = 0
    for corr, ids in sim.truth.flows.items():
        _ids, _pairs, missing = truth_of(sim, corr)
        if missing or len(ids) < 3:
            continue  # an orphan splits a flow in two
        middle = ids[len(ids) // 2]
        assert index.lookup(middle) == index.lookup(corr)
        checked += 1
    assert checked > 100
