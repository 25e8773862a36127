"""The flow tab on the seeded demo: the shop's designed topology, and where Enter leads."""

from __future__ import annotations

from textual.widgets import TabbedContent

from evtui.core.flow import EdgeKind
from evtui.core.flow_lanes import COLUMNS
from evtui.tui.widgets.flowpane import FlowPane, FlowTable
from evtui.tui.widgets.lagpane import LagPane
from tests.tui.helpers import demo_app, settle, wait_for
from tests.unit.test_flow import edges, shop_truth


def records_of(app):
    """What the simulator emitted, in the tail's store order (its own truth)."""
    sim = app.backend.clock.sim
    return sim, list(sim.truth.events.values())


async def flow_tab(pilot, app, settled: bool = True) -> FlowPane:
    """The flow tab shown (after the demo's history is in, unless ``settled`` already)."""
    if settled:
        await settle(pilot, app)
    await pilot.press("5")
    await pilot.pause(0.6)
    return app.query_one(FlowPane)


async def move_to(pilot, pane: FlowPane, target: str) -> None:
    """Put the table's cursor on the cell that stands for ``target``."""
    table = pane.table
    for row in range(len(pane._shown)):
        for column in range(len(table.columns)):
            cell = pane.cell_at(row, column)
            if cell is not None and cell.target == target:
                table.move_cursor(row=row, column=column, animate=False)
                await pilot.pause(0.1)
                return
    raise AssertionError(f"no cell for {target}")


async def test_the_flow_tab_shows_the_shops_designed_topology():
    app = demo_app(seconds=40)
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(pilot, app)
        await wait_for(pilot, lambda: app.flow.events == app.tail.feed.store.next)
        await flow_tab(pilot, app, settled=False)
        assert app.query_one(TabbedContent).active == "flow"
        pane = app.query_one(FlowPane)
        graph = pane.graph
        sim, records = records_of(app)
        producers, hops, groups = shop_truth(sim, records)
        assert edges(graph, EdgeKind.PRODUCES) == producers
        assert edges(graph, EdgeKind.HOP) == hops
        assert edges(graph, EdgeKind.CONSUMES) == groups
        status = str(pane.query_one("#flow-status").render())
        assert "5 topics, 5 producers (0 unknown), 5 consumer groups, 7 hops" in status
        # one lane per topic, each as tall as its longest column
        lanes = {key.split("\x1f")[0] for key in pane._shown}
        assert lanes == {f"topic:{t}" for t in ("orders", "payments", "inventory", "shipments",
                                                  "notifications")}  # fmt: skip
        assert app.focused is pane.table


async def test_enter_tails_a_topic_opens_a_groups_lag_and_filters_to_a_producer():
    app = demo_app(seconds=30)
    async with app.run_test(size=(200, 50)) as pilot:
        pane = await flow_tab(pilot, app)
        await move_to(pilot, pane, "group:payment-service")
        assert "group payment-service" in str(pane.query_one("#flow-detail").render())
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert app.query_one(TabbedContent).active == "lag"
        assert app.query_one(LagPane).selected_group == "payment-service"
        await flow_tab(pilot, app, settled=False)
        await move_to(pilot, pane, "edge:topic:orders\x1ftopic:inventory")
        await pilot.press("enter")
        detail = str(pane.query_one("#flow-detail").render())
        assert "hop: orders -> inventory" in detail and "evidence: causation id" in detail
        assert "samples: orders[0]@" in detail
        await move_to(pilot, pane, "service:/shop/inventory")
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert app.query_one(TabbedContent).active == "tail"
        assert await wait_for(pilot, lambda: app.tail.filter is not None)
        assert await wait_for(pilot, lambda: app.tail.feed.view.pending == 0)
        shown = app.tail.feed.view
        store = app.tail.feed.store
        on_inventory = sum(
            1 for e in store.range(store.first, store.next) if e.topic == "inventory"
        )
        assert shown.rows == on_inventory  # every record the inventory service wrote
        assert {shown.event_at(r).topic for r in range(shown.rows)} == {"inventory"}
        await flow_tab(pilot, app, settled=False)
        await move_to(pilot, pane, "topic:shipments")
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert app.query_one(TabbedContent).active == "tail"
        assert app.tail.topics == ["shipments"]


async def test_slash_finds_lanes_and_hjkl_move_between_nodes():
    app = demo_app(seconds=30)
    async with app.run_test(size=(200, 50)) as pilot:
        pane = await flow_tab(pilot, app)
        table = pane.query_one(FlowTable)
        start = table.cursor_coordinate
        await pilot.press("l", "l", "j")
        assert table.cursor_coordinate == (start.row + 1, start.column + 2)
        await pilot.press("h", "k")
        assert table.cursor_coordinate == (start.row, start.column + 1)
        await pilot.press("slash", *"shipping")
        await pilot.pause(0.3)
        lanes = {key.split("\x1f")[0] for key in pane._shown}
        # the lanes that touch shipping: its topic, and payments (read by shipping-service)
        assert lanes == {"topic:shipments", "topic:payments"}
        await pilot.press("escape")  # the filter box: back to the table
        await pilot.press("escape")  # the table: the filter cleared
        await pilot.pause(0.3)
        assert len({key.split("\x1f")[0] for key in pane._shown}) == 5


async def test_a_narrow_terminal_keeps_the_topics_and_their_producers():
    app = demo_app(seconds=20)
    async with app.run_test(size=(80, 24)) as pilot:
        await flow_tab(pilot, app)
        table = app.query_one(FlowPane).table
        keys = [str(k.value) for k in table.columns]
        assert keys[:3] == ["producer", "to_topic", "topic"]
        assert "hop" not in keys  # the least important column gives way first


async def test_topics_with_violations_are_marked_and_new_structure_is_said():
    app = demo_app(seconds=40)
    async with app.run_test(size=(200, 50)) as pilot:
        pane = await flow_tab(pilot, app)
        warned = {g.topic for g in app.violations.board.groups.values()
                  if g.severity == "warning"}  # fmt: skip
        assert warned  # the demo injects faults
        topics = {key.split("\x1f")[0].split(":", 1)[1] for key in pane._shown}
        for topic in topics:
            cell = pane._rows[f"topic:{topic}\x1f0"][2]
            assert (cell.style == "bad") == (topic in warned), topic
        status = str(pane.query_one("#flow-status").render())
        assert "new " not in status  # the first picture's own making is not news
        from evtui.core.event import Event

        app.flow.offer(Event("refunds", 0, 0, app.flow.newest_ms, 1, None, b"{}", ()))
        await pilot.pause(0.8)
        status = str(pane.query_one("#flow-status").render())
        assert "new producer on refunds: unknown producer" in status


async def test_the_tab_compares_with_a_declared_flow(tmp_path):
    from pathlib import Path

    from evtui.core.flow_declared import load

    shop = Path(__file__).resolve().parent.parent / "data" / "shop-flow.yaml"
    changed = tmp_path / "changed.yaml"
    changed.write_text(shop.read_text().replace("produces: [payments]", "produces: []"))
    for declared, said in ((shop, "as declared"),
                           (changed, "1 difference from the declared flow")):  # fmt: skip
        app = demo_app(seconds=20, declared=load([declared]))
        async with app.run_test(size=(200, 50)) as pilot:
            pane = await flow_tab(pilot, app)
            assert said in str(pane.query_one("#flow-status").render())
            texts = {c.text for cells in pane._rows.values() for c in cells}
            assert "(no consumer group)" in texts  # nobody reads notifications, as designed
            assert ("payment ✗ undeclared" in texts) == (declared == changed)


async def test_a_topics_rate_is_what_its_end_offsets_say_it_received():
    app = demo_app(seconds=40)
    async with app.run_test(size=(200, 50)) as pilot:
        pane = await flow_tab(pilot, app)

        def rates():
            snapshot = app.snapshot
            return {} if snapshot is None else {t.name: t.rate for t in snapshot.topics}

        await wait_for(pilot, lambda: rates().get("orders") is not None)
        await pilot.pause(0.6)  # the flow tab's next redraw
        expected = rates()
        graph = pane.graph
        assert graph.nodes["topic:orders"]["produced_rate"] == expected["orders"]
        row = next(k for k in pane._shown if k.startswith("topic:orders\x1f"))
        cells = dict(zip(COLUMNS, pane._rows[row], strict=True))
        assert cells["rate"].text == f"{expected['orders']:,.1f}/s"  # (not the events read)
