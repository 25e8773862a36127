"""The flow model's inference (``core/flow.py``): exact edges from records and group reports.

Every stream here has exact truth: which service wrote each record and which event
caused which. Correlation alone never makes an edge (a correlation id is shared by a
whole transaction, not a cause), so the graphs must hold exactly the edges the truth
says, none missing and none extra.
"""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evtui.core import native
from evtui.core.event import Event
from evtui.core.flow import EdgeKind, FlowModel, percentile, short_label
from evtui.core.flow_lanes import COLUMNS, describe, layout
from evtui.core.flow_render import render, render_text
from evtui.core.lag import GroupLag, LagReport, PartitionLag, Status
from evtui.sim.model import FaultRates
from evtui.sim.shop import ShopSimulator

_offsets: dict[tuple[str, int], int] = {}


@pytest.fixture(autouse=True, params=["native", "python"])
def implementation(request, monkeypatch):
    """Every test runs on both twins of the per-event bookkeeping: the extension's (when
    built) and Python's (the specification)."""
    if request.param == "python":
        monkeypatch.setattr(native, "_native", None)
    elif not native.available():
        pytest.skip("the extension is not built")
    return request.param


def ev(topic, at, *, eid=None, cause=None, service=None, corr=None, headers=(), part=0):
    body = {"type": "Thing"}
    for name, value in (
        ("eventId", eid), ("causationId", cause), ("service", service), ("correlationId", corr),
    ):  # fmt: skip
        if value is not None:
            body[name] = value
    offset = _offsets.get((topic, part), 0)
    _offsets[(topic, part)] = offset + 1
    return Event(topic, part, offset, at, 1, None, json.dumps(body).encode(), tuple(headers))


def edges(graph, kind):
    return {
        (u.split(":", 1)[1], v.split(":", 1)[1])
        for u, v, k in graph.edges(data="kind")
        if k == str(kind)
    }


def test_a_chain_gives_producers_and_a_hop_with_its_latencies():
    flow = FlowModel()
    for i in range(20):
        flow.offer(ev("orders", 1000 * i, eid=f"o{i}", service="shop"))
        flow.offer(ev("payments", 1000 * i + 10 + i, eid=f"p{i}", cause=f"o{i}", service="pay"))
    g = flow.snapshot()
    assert edges(g, EdgeKind.PRODUCES) == {("shop", "orders"), ("pay", "payments")}
    assert edges(g, EdgeKind.HOP) == {("orders", "payments")}
    hop = g.edges["topic:orders", "topic:payments"]
    assert hop["count"] == 20
    assert hop["via"] == {"service:pay": 20}
    assert (hop["p50_ms"], hop["p95_ms"]) == (19, 28)  # latencies 10..29
    assert hop["evidence"] == {"causation id": 20}
    assert g.nodes["topic:orders"]["count"] == 20


def test_fan_out_fan_in_and_a_consumer_writing_its_own_input():
    flow = FlowModel()
    flow.offer(ev("a", 0, eid="a1", service="s1"))
    flow.offer(ev("b", 5, eid="b1", cause="a1", service="s2"))
    flow.offer(ev("c", 6, eid="c1", cause="a1", service="s3"))  # fan-out from a1
    flow.offer(ev("d", 9, eid="d1", cause="b1", service="s4"))
    flow.offer(ev("d", 9, eid="d2", cause="c1", service="s4"))  # fan-in on d
    flow.offer(ev("d", 12, eid="d3", cause="d2", service="s4"))  # s4 reads what it wrote
    g = flow.snapshot()
    assert edges(g, EdgeKind.HOP) == {("a", "b"), ("a", "c"), ("b", "d"), ("c", "d"), ("d", "d")}
    assert g.edges["topic:d", "topic:d"]["via"] == {"service:s4": 1}


def test_retry_and_dead_letter_loops():
    flow = FlowModel()
    flow.offer(ev("orders", 0, eid="o1", service="api"))
    flow.offer(ev("orders.retry", 10, eid="r1", cause="o1", service="worker"))
    flow.offer(ev("orders", 20, eid="o2", cause="r1", service="retrier"))
    flow.offer(ev("orders.dlq", 30, eid="x1", cause="o2", service="worker"))
    g = flow.snapshot()
    assert edges(g, EdgeKind.HOP) == {
        ("orders", "orders.retry"), ("orders.retry", "orders"), ("orders", "orders.dlq"),
    }  # fmt: skip
    assert edges(g, EdgeKind.PRODUCES) == {
        ("api", "orders"), ("worker", "orders.retry"), ("retrier", "orders"),
        ("worker", "orders.dlq"),
    }  # fmt: skip


def test_records_naming_no_producer_come_from_one_unknown_node_per_topic():
    flow = FlowModel()
    for topic in ("t1", "t2"):
        flow.offer(Event(topic, 0, 0, 5, 1, None, b"\x00\x01binary", ()))
        flow.offer(Event(topic, 0, 1, 6, 1, b"k", None, ()))  # a tombstone
    g = flow.snapshot()
    assert edges(g, EdgeKind.PRODUCES) == {("t1", "t1"), ("t2", "t2")}
    assert g.nodes["unknown:t1"]["kind"] == "unknown producer"
    assert g.edges["unknown:t1", "topic:t1"]["count"] == 2
    assert edges(g, EdgeKind.HOP) == set()


def test_shared_correlation_ids_make_no_hop():
    flow = FlowModel()
    for i, topic in enumerate(["a", "b", "c", "a", "b"]):
        flow.offer(ev(topic, i, eid=f"e{i}", corr="same-transaction", service=f"s{i % 2}"))
    assert edges(flow.snapshot(), EdgeKind.HOP) == set()


def test_a_cause_seen_after_its_effect_still_makes_the_hop():
    flow = FlowModel()
    flow.offer(ev("b", 100, eid="b1", cause="a1", service="s2"))
    assert edges(flow.snapshot(), EdgeKind.HOP) == set()
    flow.offer(ev("a", 150, eid="a1", service="s1"))
    g = flow.snapshot()
    assert edges(g, EdgeKind.HOP) == {("a", "b")}
    assert g.edges["topic:a", "topic:b"]["p50_ms"] == -50  # as the timestamps say


def test_duplicates_and_self_naming_events():
    flow = FlowModel()
    flow.offer(ev("a", 0, eid="a1", service="s"))
    flow.offer(ev("a", 1, eid="a1", service="s"))  # the same event delivered twice
    flow.offer(ev("b", 5, eid="b1", cause="a1", service="t"))
    flow.offer(ev("c", 6, eid="c1", cause="c1", service="u"))  # names itself
    g = flow.snapshot()
    assert edges(g, EdgeKind.HOP) == {("a", "b")}
    assert g.edges["topic:a", "topic:b"]["p50_ms"] == 5  # from the first sighting


def traceparent(trace, span):
    return ("traceparent", f"00-{trace}-{span}-01".encode())


def test_parent_spans_from_other_tracers_link_topics():
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    flow = FlowModel()
    flow.offer(ev("in", 0, headers=[traceparent(trace, "00f067aa0ba902b7")]))
    child = [
        ("X-B3-TraceId", trace.encode()), ("X-B3-SpanId", b"00f067aa0ba902b8"),
        ("X-B3-ParentSpanId", b"00f067aa0ba902b7"), ("service.name", b"enricher"),
    ]  # fmt: skip
    flow.offer(ev("out", 7, headers=child))
    g = flow.snapshot()
    assert edges(g, EdgeKind.HOP) == {("in", "out")}
    assert g.edges["topic:in", "topic:out"]["evidence"] == {"parent span": 1}
    assert ("enricher", "out") in edges(g, EdgeKind.PRODUCES)


def test_idle_then_gone_and_the_version_changes_only_with_the_structure():
    flow = FlowModel(window_ms=10_000, idle_ms=60_000, expire_ms=120_000)
    flow.offer(ev("a", 0, eid="a1", service="s"))
    version = flow.version
    for i in range(2, 50):
        flow.offer(ev("a", i, eid=f"a{i}", service="s"))
    assert flow.version == version  # more of the same: nothing to lay out again
    flow.offer(ev("b", 100_000, service="t"))
    assert flow.version > version
    g = flow.snapshot(now_ms=100_000)
    assert g.edges["service:s", "topic:a"]["idle"] and g.nodes["topic:a"]["idle"]
    assert not g.edges["service:t", "topic:b"]["idle"]
    g = flow.snapshot(now_ms=200_000)
    assert "topic:a" not in g and "service:s" not in g and "topic:b" in g
    assert any("new producer on b: t" in what for _, what in flow.changes)


def test_rates_are_over_the_window_of_record_time():
    flow = FlowModel(window_ms=10_000)
    for i in range(200):  # 20 events/s for 10 s
        flow.offer(ev("a", i * 50, service="s"))
    edge = flow.snapshot(now_ms=9_999).edges["service:s", "topic:a"]
    assert 19 <= edge["rate"] <= 21


def lag_report(*groups):
    out = []
    for name, topic, lag in groups:
        part = PartitionLag(
            topic, 0, 100 - lag, 100, 0, lag, 1.5, "estimated", Status.LAGGING if lag else
            Status.OK, "", member="consumer-1@/10.0.0.1",
        )  # fmt: skip
        out.append(GroupLag(name, "Stable", 1, (part,)))
    return LagReport(out)


def test_groups_consume_exactly_what_the_report_says_and_leave_when_gone():
    flow = FlowModel()
    flow.offer(ev("orders", 0, service="shop"))
    flow.groups(lag_report(("billing", "orders", 7), ("audit", "orders", 0), ("x", "other", 1)))
    g = flow.snapshot()
    assert edges(g, EdgeKind.CONSUMES) == {("orders", "billing"), ("orders", "audit"),
                                           ("other", "x")}  # fmt: skip
    billing = g.edges["topic:orders", "group:billing"]
    assert (billing["lag"], billing["status"]) == (7, "lagging")
    assert billing["evidence"] == {"committed offsets": 1, "member assignment": 1}
    version = flow.version
    flow.groups(lag_report(("billing", "orders", 7)), topics=["orders"])
    assert flow.version > version
    assert edges(flow.snapshot(), EdgeKind.CONSUMES) == {("orders", "billing")}


def test_memory_is_bounded():
    flow = FlowModel(max_edges=10, max_known=50, max_waiting=20)
    for i in range(500):
        flow.offer(ev(f"t{i % 40}", i, eid=f"e{i}", cause=f"missing{i}", service=f"s{i}"))
    sizes = flow.sizes()
    assert sizes["edges"] <= 10 and flow.evicted > 0
    assert sizes["known"] <= 50 and sizes["waiting"] <= 20
    assert flow.dropped_waiting > 0


def test_helpers():
    assert short_label("/shop/inventory") == "inventory"
    assert short_label("rabbitmq://shop/notification/") == "notification"
    assert short_label("payment") == "payment"
    assert percentile([], 0.5) is None
    assert percentile([5], 0.95) == 5
    assert percentile(list(range(1, 101)), 0.95) == 95


# -- generated streams with exact truth ---------------------------------------------------------


@st.composite
def streams(draw):
    """Events over a few topics and services; each names a cause among earlier ones (or a
    missing one, or none); delivered in an order that may put effects before causes."""
    rng = random.Random(draw(st.integers(0, 2**32)))
    n = draw(st.integers(1, 60))
    events = []
    for i in range(n):
        topic = rng.choice(["a", "b", "c", "d.retry"])
        service = rng.choice(["s1", "s2", "/x/s3", None])
        roll = rng.random()
        cause = None
        if events and roll < 0.5:
            cause = rng.choice(events)["eid"]
        elif roll < 0.6:
            cause = f"missing-{i}"
        events.append({"eid": f"e{i}", "topic": topic, "service": service, "cause": cause,
                       "at": i * 10, "part": rng.randrange(3)})  # fmt: skip
    order = list(range(n))
    for i in range(n - 1):  # neighbours swapped: some effects arrive before their causes
        if rng.random() < 0.2:
            order[i], order[i + 1] = order[i + 1], order[i]
    return events, order


@settings(max_examples=150, deadline=None)
@given(streams())
def test_generated_streams_give_exactly_the_true_edges(stream):
    events, order = stream
    flow = FlowModel()
    for i in order:
        e = events[i]
        flow.offer(ev(e["topic"], e["at"], eid=e["eid"], cause=e["cause"],
                      service=e["service"], part=e["part"]))  # fmt: skip
    by_id = {e["eid"]: e for e in events}
    hops = {(by_id[e["cause"]]["topic"], e["topic"]) for e in events if e["cause"] in by_id}
    producers = {(e["service"] or e["topic"], e["topic"]) for e in events}
    g = flow.snapshot()
    assert edges(g, EdgeKind.HOP) == hops
    assert edges(g, EdgeKind.PRODUCES) == producers


# -- the demo's ground truth --------------------------------------------------------------------


def shop_truth(sim, records):
    """The shop's designed producers and hops, from what it emitted (its own truth)."""
    emitted = {r.event_id: r for r in records}
    producers = {(_self_name(r.service), r.topic) for r in records}
    hops = {(emitted[r.causation_id].topic, r.topic) for r in records if r.causation_id in emitted}
    groups = {(topic, g.name) for g in sim.groups for topic in g.topics}
    return producers, hops, groups


def _self_name(service):
    """How each of the shop's services names itself in its convention (sim/conventions)."""
    return {"inventory": "/shop/inventory", "shipping": "/shop/shipping"}.get(service, service)


def test_the_demo_flow_is_the_shops_designed_topology():
    sim = ShopSimulator(seed=3, rate=200, faults=FaultRates())
    records = sim.take(3_000)
    flow = FlowModel()
    for i, r in enumerate(records):
        flow.offer(Event(r.topic, 0, i, sim.start_ms + r.at_ms, 1, r.key, r.value, r.headers))
    producers, hops, _ = shop_truth(sim, records)
    g = flow.snapshot()
    assert edges(g, EdgeKind.PRODUCES) == producers
    assert edges(g, EdgeKind.HOP) == hops
    # the design, spelled out: every hop is a service reading one topic and writing another
    assert hops == {
        ("orders", "inventory"), ("inventory", "payments"), ("payments", "shipments"),
        ("shipments", "orders"), ("orders", "notifications"), ("inventory", "orders"),
        ("payments", "inventory"),
    }  # fmt: skip


# -- the renderers ------------------------------------------------------------------------------


def hostile_flow():
    flow = FlowModel()
    name = 'evil"svc<br/>x'  # (the ids refuse a service name with control characters)
    flow.offer(ev("t\x1b[2J", 0, eid="a", service=name))
    flow.offer(ev('q"t', 5, eid="b", cause="a", service="ok"))
    flow.groups(lag_report(("g\x1b", "t\x1b[2J", 3)))
    return flow, name


def test_text_shows_control_characters_escaped():
    flow, _ = hostile_flow()
    text = render_text(flow.snapshot())
    assert "\x1b" not in text and "\x07" not in text
    assert 'evil"svc<br/>x' in text
    assert "t\\x1b[2J  ->  g\\x1b" in text  # a group's name is the cluster's, not the ids'
    first = text.splitlines()[0]
    assert first == "flow: 2 topics, 2 producers (0 unknown), 1 consumer group, 1 hop"


def test_json_keeps_names_exact_and_says_every_edge_figure():
    flow, name = hostile_flow()
    data = json.loads(render(flow.snapshot(), "json", events=2))
    nodes = {n["id"]: n for n in data["nodes"]}
    assert nodes[f"service:{name}"]["name"] == name
    hop = next(e for e in data["edges"] if e["kind"] == "hop")
    assert hop["from"] == "topic:t\x1b[2J" and hop["to"] == 'topic:q"t'
    assert (hop["count"], hop["p50_ms"], hop["p95_ms"]) == (1, 5, 5)
    assert hop["first_seen_ms"] == 5 and hop["last_seen_ms"] == 5
    consumes = next(e for e in data["edges"] if e["kind"] == "consumes")
    assert consumes["count"] is None and consumes["lag"] == 3
    assert data["events"] == 2


def test_dot_and_mermaid_quote_what_they_draw():
    flow, _ = hostile_flow()
    graph = flow.snapshot()
    dot = render(graph, "dot", events=2)
    assert dot.startswith('digraph "evtui flow" {') and dot.endswith("}")
    assert '"topic:q\\"t"' in dot and "\n" not in dot.split("label=")[1].split("]")[0]
    assert "style=dashed" in dot  # the hop: inferred from causal links
    mermaid = render(graph, "mermaid", events=2)
    assert mermaid.startswith("flowchart LR")
    assert "#quot;" in mermaid and "-.->" in mermaid
    assert all(line.count('"') % 2 == 0 for line in mermaid.splitlines())


# -- the lanes (the flow tab's layout) ----------------------------------------------------------


def lanes_flow():
    flow = FlowModel()
    flow.offer(ev("a", 0, eid="a1", service="s1"))
    flow.offer(ev("a", 1, eid="a2", service="s2"))
    flow.offer(ev("a", 2))  # no producer named
    flow.offer(ev("b", 5, eid="b1", cause="a1", service="s3"))
    flow.groups(lag_report(("g1", "a", 0), ("g2", "a", 9)))
    return flow


def test_a_lane_is_as_tall_as_its_longest_column_with_stable_keys():
    graph = lanes_flow().snapshot()
    rows = layout(graph)
    assert [key for key, _ in rows] == ["topic:a\x1f0", "topic:a\x1f1", "topic:a\x1f2",
                                        "topic:b\x1f0"]  # fmt: skip
    first = dict(zip(COLUMNS, rows[0][1], strict=True))
    assert (first["producer"].text, first["topic"].text, first["group"].text) == ("s1", "a", "g1")
    assert first["hop"].text.startswith("┄► b  1  p50 5 ms")
    assert first["hop"].target == "edge:topic:a\x1ftopic:b"
    third = dict(zip(COLUMNS, rows[2][1], strict=True))
    assert third["producer"].text == "? unknown producer" and third["group"].text == ""
    lag = dict(zip(COLUMNS, rows[1][1], strict=True))["lag"]
    assert (lag.text, lag.style) == ("lag 9 lagging", "warn")


def test_lanes_keep_their_order_when_only_the_figures_change():
    flow = lanes_flow()
    before = [key for key, _ in layout(flow.snapshot())]
    for i in range(100):
        flow.offer(ev("b", 10 + i, service="s3"))  # b becomes the busiest
    assert [key for key, _ in layout(flow.snapshot())] == before


def test_the_busiest_lanes_are_shown_and_the_rest_summarised_and_found():
    flow = FlowModel()
    for i in range(10):
        for _ in range(i + 1):
            flow.offer(ev(f"t{i}", i, service=f"svc{i}"))
    rows = layout(flow.snapshot(), top=3)
    assert [k for k, _ in rows] == ["topic:t7\x1f0", "topic:t8\x1f0", "topic:t9\x1f0", "\x1fmore"]
    assert rows[-1][1][0].text.startswith("… 7 more topics")
    found = layout(flow.snapshot(), top=3, match="SVC2")
    assert [k for k, _ in found] == ["topic:t2\x1f0"]


def test_describe_gives_an_edges_evidence_and_samples():
    graph = lanes_flow().snapshot()
    lines = describe(graph, "edge:topic:a\x1ftopic:b")
    assert lines[0] == "hop: a -> b"
    assert "  evidence: causation id (1)" in lines
    assert any(line.startswith("  samples: a[0]@") for line in lines)
    assert describe(graph, "group:g2")[0] == "group g2"


def test_lanes_mark_what_differs_from_a_declared_flow():
    from evtui.core.flow_declared import Finding
    from evtui.core.flow_lanes import Marks

    graph = lanes_flow().snapshot()
    marks = Marks.of([
        Finding("observed_not_declared", "produces", "s2", "a"),
        Finding("observed_not_declared", "consumes", "g1", "a"),
        Finding("declared_not_observed", "produces", "s9", "a"),
        Finding("declared_not_observed", "consumes", "reader", "b"),
        Finding("not_consumed", "", "", "b"),
    ])  # fmt: skip
    rows = dict(layout(graph, marks=marks))
    cells = {key: dict(zip(COLUMNS, row, strict=True)) for key, row in rows.items()}
    assert cells["topic:a\x1f1"]["producer"].text == "s2 ✗ undeclared"
    assert cells["topic:a\x1f1"]["producer"].style == "bad"
    assert cells["topic:a\x1f0"]["group"].text == "g1 ✗ undeclared"
    assert cells["topic:a\x1f3"]["producer"].text == "✗ s9 (declared, not seen)"
    assert [c["group"].text for k, c in cells.items() if k.startswith("topic:b")] == [
        "✗ reader (declared, not seen)", "(no consumer group)",
    ]  # fmt: skip
    assert [key for key, _ in layout(graph)] != list(rows)  # the marks add rows


def test_an_evicted_producer_no_longer_counts_in_its_topic():
    flow = FlowModel(max_edges=10)
    for i in range(11):  # the 11th edge: the least recently seen go, down to 9 of 10
        flow.offer(ev("t", i, service=f"s{i:02}"))
    g = flow.snapshot()
    assert edges(g, EdgeKind.PRODUCES) == {(f"s{i:02}", "t") for i in range(2, 11)}
    assert g.nodes["topic:t"]["count"] == 9 and flow.evicted == 2


def test_a_producer_with_a_new_name_in_every_record_stays_bounded():
    """Hostile: a service field that is unique per record (a pod name with a counter)."""
    flow = FlowModel(max_edges=100)
    for i in range(5_000):
        flow.offer(ev(f"t{i % 3}", i, eid=f"e{i}", service=f"pod-{i}"))
    sizes = flow.sizes()
    assert sizes["edges"] <= 100 and sizes["names"] <= 100  # (the lookups too)
    assert flow.evicted == 5_000 - sizes["edges"]  # every edge made, less those kept
    graph = flow.snapshot()
    assert sizes["producers_per_topic"] <= 100
    newest = {u for u, _, k in graph.edges(data="kind") if k == "produces"}
    assert "service:pod-4999" in newest and "service:pod-0" not in newest
    assert sum(graph.nodes[f"topic:t{i}"]["count"] for i in range(3)) == len(newest)


def test_a_lane_shows_a_dozen_of_each_and_summarises_the_rest():
    flow = FlowModel()
    for i in range(40):
        flow.offer(ev("t", i, eid=f"c{i}", service=f"pod-{i:02}"))
        flow.offer(ev(f"out{i:02}", i + 1, cause=f"c{i}", service="fan"))
    rows = [dict(zip(COLUMNS, r, strict=True)) for k, r in layout(flow.snapshot())
            if k.startswith("topic:t\x1f")]  # fmt: skip
    assert len(rows) == 13
    assert [r["producer"].text for r in rows][-2:] == ["pod-11", "… 28 more producers"]
    assert rows[-1]["hop"].text == "… 28 more topics"


def test_producers_found_again_after_an_eviction_are_counted_once():
    flow = FlowModel(max_edges=10)
    for i in range(15):
        flow.offer(ev("t", i, service="steady"))
        flow.offer(ev(f"x{i}", i, service=f"once{i}"))  # past the bound: evictions
    g = flow.snapshot()
    assert flow.evicted > 0
    steady = g.edges["service:steady", "topic:t"]["count"]
    assert g.nodes["topic:t"]["count"] == steady == 15


def test_a_topics_produce_rate_comes_from_its_end_offsets_where_known():
    """The events read may be a sample; the end offsets count what the topic received."""
    flow = FlowModel()
    for i in range(10):
        flow.offer(ev("orders", 1000 * i, service="shop"))
        flow.offer(ev("payments", 1000 * i, service="pay"))
    flow.produce_rates({"orders": 250.0, "payments": None, "elsewhere": 3.0})
    graph = flow.snapshot()
    assert graph.nodes["topic:orders"]["produced_rate"] == 250.0
    assert graph.nodes["topic:payments"]["produced_rate"] is None  # not known yet
    assert "topic:elsewhere" not in graph  # a rate alone is no flow
    rates = {key.split("\x1f")[0]: dict(zip(COLUMNS, cells, strict=True))["rate"].text
             for key, cells in layout(graph)}  # fmt: skip
    assert rates == {"topic:orders": "250.0/s", "topic:payments": "1.1/s"}  # (read: 10 in 9 s)
    lines = describe(graph, "topic:orders")
    assert "  produced (end offsets): 250.0/s" in lines and "  read: 1.1/s" in lines
    nodes = {n["id"]: n for n in json.loads(render(graph, "json", events=20))["nodes"]}
    assert nodes["topic:orders"]["produced_rate"] == 250.0


def test_a_hop_names_at_most_a_hundred_services_and_counts_the_rest():
    """Hostile: every effect from a producer with a name of its own, all on one hop."""
    flow = FlowModel()
    flow.offer(ev("a", 0, eid="root", service="origin"))
    for i in range(1_000):
        flow.offer(ev("b", 1 + i, cause="root", service=f"pod-{i}"))
    hop = flow.snapshot().edges["topic:a", "topic:b"]
    assert hop["count"] == 1_000 and len(hop["via"]) == 101
    assert hop["via"]["(other services)"] == 900 and hop["via"]["service:pod-99"] == 1
