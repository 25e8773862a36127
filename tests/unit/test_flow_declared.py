"""Architecture drift (``core/flow_declared.py``): declared flows read exactly, compared
without guessing: the shop as designed shows no drift, each change to it exactly one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evtui.core.event import Event
from evtui.core.flow import FlowModel
from evtui.core.flow_declared import DeclaredError, Finding, drift, load
from evtui.core.lag import GroupLag, LagReport, PartitionLag, Status
from evtui.sim.model import TopicNames
from evtui.sim.shop import ShopSimulator, service_groups

DATA = Path(__file__).resolve().parent.parent / "data"
SHOP = DATA / "shop-flow.yaml"


def shop_graph(seconds_of_records: int = 3_000, groups: bool = True):
    sim = ShopSimulator(seed=5, rate=200)
    flow = FlowModel()
    for i, r in enumerate(sim.take(seconds_of_records)):
        flow.offer(Event(r.topic, 0, i, sim.start_ms + r.at_ms, 1, r.key, r.value, r.headers))
    if groups:
        flow.groups(LagReport([
            GroupLag(g.name, "Stable", 1, tuple(
                PartitionLag(t, 0, 5, 5, 0, 0, 0.0, None, Status.OK, "") for t in g.topics
            ))
            for g in service_groups(TopicNames(), 200)
        ]))  # fmt: skip
    return flow.snapshot()


NOBODY_READS_NOTIFICATIONS = Finding("not_consumed", "", "", "notifications")  # as designed


def test_the_shop_as_designed_shows_no_drift():
    assert drift(shop_graph(), load([SHOP])) == [NOBODY_READS_NOTIFICATIONS]


def write(tmp_path: Path, text: str, name: str = "flow.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_each_change_to_the_declaration_is_exactly_one_finding(tmp_path):
    text = SHOP.read_text()
    undeclared = write(tmp_path, text.replace("produces: [notifications]", "produces: []"))
    assert drift(shop_graph(), load([undeclared])) == [
        NOBODY_READS_NOTIFICATIONS,
        Finding("observed_not_declared", "produces", "notification", "notifications"),
    ]
    never = write(tmp_path, text.replace("produces: [payments]", "produces: [payments, orders]"))
    assert drift(shop_graph(), load([never])) == [
        Finding("declared_not_observed", "produces", "payment", "orders"),
        NOBODY_READS_NOTIFICATIONS,
    ]
    moved = write(
        tmp_path,
        text.replace(
            "consumes: [payments]\n    groups: [shipping-service]",
            "consumes: [shipments]\n    groups: [shipping-service]",
        ),
    )
    assert drift(shop_graph(), load([moved])) == [
        Finding("declared_not_observed", "consumes", "shipping", "shipments"),
        NOBODY_READS_NOTIFICATIONS,
        Finding("observed_not_declared", "consumes", "shipping-service", "payments"),
    ]  # fmt: skip


def test_a_topic_nobody_consumes_and_judging_only_what_was_read():
    graph = shop_graph()
    declared = load([SHOP])
    no_notifications = FlowModel()
    sim = ShopSimulator(seed=5, rate=200)
    for i, r in enumerate(sim.take(2_000)):
        no_notifications.offer(Event(r.topic, 0, i, sim.start_ms + r.at_ms, 1, r.key, r.value,
                                     r.headers))  # fmt: skip
    # no groups read (--no-groups): consumption is not judged, nor unconsumed topics
    assert drift(no_notifications.snapshot(), declared, groups_read=False) == []
    only_orders = graph.subgraph(
        [n for n in graph if n in ("topic:orders", "service:storefront")]
    ).copy()
    # a slice of one topic: declarations about other topics are not judged
    assert drift(only_orders, declared, groups_read=False) == []


def test_an_asyncapi_3_document_declares_one_application(tmp_path):
    declared = load([DATA / "inventory-asyncapi3.yaml"])
    service = declared.services["inventory"]
    assert service.produces == {"inventory", "stock-audit"}
    assert service.consumes == {"orders", "payments"}
    assert service.groups == {"inventory-service"}
    found = drift(shop_graph(), declared)
    # inventory's own edges all agree (stock-audit was not read: not judged); the other
    # services are simply not declared in this one document
    assert not [f for f in found if "inventory" in (f.source, f.target) and f.edge == "produces"]
    assert Finding("observed_not_declared", "produces", "storefront", "orders") in found
    assert not [f for f in found if f.source == "inventory-service"]


def test_an_asyncapi_2_document_reads_publish_and_subscribe_as_asyncapi_2_means_them(tmp_path):
    path = write(
        tmp_path,
        """
asyncapi: '2.6.0'
info: {title: payment, version: '1'}
channels:
  inventory:
    publish:
      bindings: {kafka: {groupId: {const: payment-service}}}
  payments-channel:
    bindings: {kafka: {topic: payments}}
    subscribe: {}
""",
    )
    service = load([path]).services["payment"]
    assert (service.produces, service.consumes) == ({"payments"}, {"inventory"})
    assert service.groups == {"payment-service"}


def test_parameterised_addresses_match_any_text(tmp_path):
    path = write(tmp_path, "services:\n  storefront:\n    produces: ['ord{x}']\n")
    found = drift(shop_graph(groups=False), load([path]), groups_read=False)
    assert not [f for f in found if f.source == "storefront"]


@pytest.mark.parametrize(
    ("text", "name", "message"),
    [
        ("services: [1, 2", "f.yaml", "invalid YAML at line 1"),
        ("a = ", "f.toml", "invalid TOML"),
        ("- 1\n", "f.yaml", "expected a mapping at the top"),
        ("topics: []\n", "f.yaml", "neither an AsyncAPI document"),
        ("asyncapi: 1.2.0\ninfo: {title: x}\n", "f.yaml", "AsyncAPI version '1.2.0'"),
        ("asyncapi: 3.0.0\ninfo: {version: '1'}\n", "f.yaml", "no application name"),
        ("services:\n  a:\n    produce: [x]\n", "f.yaml", "unknown field 'produce'"),
        ("services:\n  a:\n    produces: 3\n", "f.yaml", "expected a name or a list of names"),
        (
            "asyncapi: 3.0.0\ninfo: {title: a}\noperations:\n  o: {action: send, channel: "
            "{$ref: '#/channels/nope'}}\n",
            "f.yaml",
            "no channel 'nope'",
        ),
    ],
)
def test_bad_declarations_are_one_clear_line(tmp_path, text, name, message):
    with pytest.raises(DeclaredError) as caught:
        load([write(tmp_path, text, name)])
    line = str(caught.value)
    assert message in line and "\n" not in line and line.startswith("--declared ")
    with pytest.raises(DeclaredError, match="No such file"):
        load([tmp_path / "missing.yaml"])


def test_groups_that_could_not_be_read_leave_declared_consumers_unjudged(tmp_path):
    """evtui flow: the records' flow is compared, not consumers nobody could look at."""
    import io

    from evtui.commands.flow import DriftFound, FlowOptions, run_flow
    from evtui.core.positions import BEGINNING
    from evtui.errors import EvtuiError
    from tests.unit.test_bad_records import InlineSource

    sim = ShopSimulator(seed=5, rate=200)
    events = [Event(r.topic, 0, i, sim.start_ms + r.at_ms, 1, r.key, r.value, r.headers)
              for i, r in enumerate(sim.take(2_000))]  # fmt: skip

    def no_groups():
        raise EvtuiError("not authorized to describe groups")

    out, err = io.StringIO(), io.StringIO()
    run_flow(InlineSource([events]), FlowOptions("text", (SHOP,)), "5 topics", BEGINNING,
             no_groups, out, err)  # fmt: skip
    assert out.getvalue().endswith(f"drift against {SHOP}:\n  none: the flow is as declared\n")
    assert "consumer groups could not be read: not authorized" in err.getvalue()
    assert "read 2,000 events from 5 topics (from beginning)" in err.getvalue()
    changed = write(tmp_path, SHOP.read_text().replace("produces: [payments]", "produces: []"))
    out = io.StringIO()
    with pytest.raises(DriftFound, match="1 difference from the declared flow"):
        run_flow(InlineSource([events]), FlowOptions("json", (changed,)), "5 topics",
                 BEGINNING, None, out, io.StringIO())  # fmt: skip
    found = json.loads(out.getvalue())["drift"]["findings"]
    assert found == [{"kind": "observed_not_declared", "edge": "produces", "from": "payment",
                      "to": "payments"}]  # fmt: skip


def test_names_that_start_alike_are_not_confused(tmp_path):
    from evtui.core.flow_declared import consumer_of, producer_of

    declared = load(
        [
            write(
                tmp_path,
                """
services:
  order:
    produces: [orders]
  order-history:
    consumes: [orders]
  stock:
    names: [/shop/inventory]
  inventory:
    names: [inventory]
  a: {names: [dup]}
  b: {names: [dup]}
""",
            )
        ]
    )
    assert consumer_of("order-history-service", declared).name == "order-history"
    assert consumer_of("order-service", declared).name == "order"
    assert consumer_of("orders", declared) is None  # "order" and then an "s": no separator
    assert producer_of("/shop/inventory", declared).name == "stock"  # exact over short
    assert producer_of("/z/inventory", declared).name == "inventory"  # one short match
    assert producer_of("/z/dup", declared) is None  # "dup" names two: that would be a guess
    assert producer_of("dup", declared).name == "a"  # (an exact name: the first to claim it)
