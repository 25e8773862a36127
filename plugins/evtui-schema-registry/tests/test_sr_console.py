"""The console on the demo through the in-memory registry: the flow tab's topic detail names
the schemas written, and an event's detail shows its schema."""

from __future__ import annotations

import io

from rich.console import Console

from evtui.commands.demo import DemoOptions
from evtui.config import parse_registry_url
from evtui.core.positions import BEGINNING
from evtui.tui.app import EvtuiApp
from evtui.tui.backend import DemoBackend
from evtui.tui.screens.detail import DetailScreen
from evtui.tui.testing import FIXED_START_MS, settle, wait_for
from evtui.tui.widgets.flowpane import FlowPane


async def test_flow_detail_and_event_detail_show_the_registry_schemas(registry_url):
    options = DemoOptions(
        seed=7, rate=40.0, duration_s=90, registry=parse_registry_url(registry_url)
    )
    backend = DemoBackend(options, start_ms=FIXED_START_MS, elapsed_ms=90_000, poll_interval=0.3)
    app = EvtuiApp(backend, topics=backend.default_topics, start=BEGINNING)
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(pilot, app)
        await wait_for(pilot, lambda: app.flow.events == app.tail.feed.store.next)
        # the violations screen has the planted regression (and no other schema finding)
        assert await wait_for(pilot, lambda: "schema_regression" in app.violations.board.summary())
        found = [f for f in app.violations.board.findings() if f.kind.startswith("schema_")]
        assert [(f.kind, f.topic) for f in found] == [("schema_regression", "orders")]
        assert "storefront-legacy" in found[0].seen
        await pilot.press("5")
        await pilot.pause(0.6)
        pane = app.query_one(FlowPane)
        table = pane.table
        spot = next(
            (r, c)
            for r in range(len(pane._shown))
            for c in range(len(table.columns))
            if (cell := pane.cell_at(r, c)) is not None and cell.target == "topic:orders"
        )
        table.move_cursor(row=spot[0], column=spot[1], animate=False)
        await pilot.pause(0.2)
        detail = str(pane.query_one("#flow-detail").render())
        assert "orders-value v1 (id 1 avro)" in detail
        assert "orders-value v2 (id 2 avro)" in detail
        assert "storefront-legacy" in detail  # v1's producers: the one left behind
        store = app.tail.feed.store
        order = next(e for e in store.range(store.first, store.next) if e.topic == "orders")
        app.push_screen(DetailScreen(order))
        await pilot.pause(0.3)
        meta = text_of(app.screen.query_one("#detail-meta").content)
        assert "avro, subject orders-value v1" in meta
        schema = text_of(app.screen.query_one("#detail-schema").content)
        assert "Schema id 1: avro, subject orders-value v1" in schema and "OrderEvent" in schema


def text_of(renderable: object) -> str:
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()
