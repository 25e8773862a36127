"""Pilot tests on the seeded demo simulator: navigation, filter, search, seek, pause, detail."""

from __future__ import annotations

from evtui.core.positions import parse_position
from evtui.tui.screens.detail import DetailScreen
from evtui.tui.screens.help import HelpScreen
from tests.tui.helpers import demo_app, rows, settle, wait_for


async def test_navigation_follow_and_new_event_counter():
    app = demo_app(seconds=60, elapsed_s=10)
    async with app.run_test(size=(160, 30)) as pilot:
        await wait_for(pilot, lambda: rows(app) > 200)
        log = app.tail.log_view
        assert log.follow and log.cursor_row == rows(app) - 1
        await pilot.press("k", "k", "k")
        assert not log.follow
        selected = log.selected_event()
        assert await wait_for(pilot, lambda: log.new_events > 0, timeout=10)
        assert log.selected_event() == selected  # new events do not move the cursor
        await pilot.press("g")
        assert log.cursor_row == 0
        await pilot.press("ctrl+f")
        assert log.cursor_row == log.page
        await pilot.press("G")
        assert log.follow and log.new_events == 0
        assert log.cursor_row == rows(app) - 1


async def test_scrolling_up_with_the_mouse_stops_following():
    app = demo_app(seconds=20)
    async with app.run_test(size=(160, 30)) as pilot:
        await settle(pilot, app)
        log = app.tail.log_view
        log.scroll_up(animate=False)  # what the mouse wheel does
        await pilot.pause(0.1)
        assert not log.follow


async def test_search_and_filter_narrow_and_clear():
    app = demo_app(seconds=20)
    async with app.run_test(size=(160, 30)) as pilot:
        await settle(pilot, app)
        everything = rows(app)
        await pilot.press("slash", *"paymentauthorized")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.tail.feed.view.pending == 0)
        found = rows(app)
        assert 0 < found < everything
        for r in range(found):
            event = app.tail.feed.view.event_at(r)
            blob = b" ".join(
                [event.value or b"", event.key or b"", *(v or b"" for _, v in event.headers)]
            ).lower()
            assert b"paymentauthorized" in blob
        await pilot.press("escape")
        assert await wait_for(pilot, lambda: rows(app) == everything)
        await pilot.press("e", *'topic == "orders" && event_type == "OrderPlaced"', "enter")
        await wait_for(pilot, lambda: app.tail.feed.view.pending == 0)
        placed = rows(app)
        assert placed > 0
        assert all(
            app.tail.feed.view.event_at(r).ids.event_type == "OrderPlaced" for r in range(placed)
        )


async def test_seek_offset_time_and_end():
    app = demo_app(seconds=20)
    async with app.run_test(size=(160, 30)) as pilot:
        await settle(pilot, app)
        total = rows(app)
        await pilot.press("s", *"-3", "enter")
        assert await wait_for(pilot, lambda: app.tail.feed is not None and rows(app) > 0)
        await wait_for(pilot, lambda: app.tail.feed.stats.finished)
        assert rows(app) == 3 * 3 * len(app.backend.default_topics)  # 3 per partition
        first = app.tail.feed.view.event_at(0)
        app.tail.seek(parse_position(f"s@{first.timestamp}"))
        await wait_for(pilot, lambda: app.tail.feed is not None and app.tail.feed.stats.finished)
        assert 0 < rows(app) < total
        assert all(
            app.tail.feed.view.event_at(r).timestamp >= first.timestamp for r in range(rows(app))
        )
        app.tail.seek(parse_position("end"))
        await wait_for(pilot, lambda: app.tail.feed is not None and app.tail.feed.stats.finished)
        assert rows(app) == 0


async def test_invalid_seek_position_is_explained_in_the_prompt():
    app = demo_app(seconds=10)
    async with app.run_test(size=(160, 30)) as pilot:
        await settle(pilot, app)
        await pilot.press("s", *"yesterday-ish", "enter")
        error = app.screen.query_one("#prompt-error")
        assert "invalid" in str(error.render())
        await pilot.press("escape")
        assert app.tail.feed is not None


async def test_pause_stops_taking_events_and_resume_catches_up():
    app = demo_app(seconds=60, elapsed_s=0)
    async with app.run_test(size=(160, 30)) as pilot:
        await wait_for(pilot, lambda: rows(app) > 5)
        await pilot.press("space")
        paused_at = rows(app)
        await pilot.pause(1.0)
        assert rows(app) == paused_at
        assert "paused" in app.tail.status_text().plain
        await pilot.press("space")
        assert await wait_for(pilot, lambda: rows(app) > paused_at)


async def test_detail_shows_headers_decoded_payload_and_copies(tmp_path, monkeypatch):
    monkeypatch.setenv("EVTUI_STATE_DIR", str(tmp_path))
    app = demo_app(seconds=20)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot, app)
        await pilot.press("e", *'"ce_id" in headers', "enter")
        await wait_for(pilot, lambda: app.tail.feed.view.pending == 0 and rows(app) > 0)
        await pilot.press("enter")
        assert isinstance(app.screen, DetailScreen)
        event = app.screen.event
        text = app.export_screenshot()
        assert "ce_id" in text and "correlation" in text
        await pilot.press("x")
        assert app.screen.as_hex
        await pilot.press("c")
        saved = list(tmp_path.rglob("*.json"))
        assert len(saved) == 1 and f"-{event.offset}.json" in saved[0].name


async def test_help_lists_every_binding_and_palette_offers_actions():
    app = demo_app(seconds=5)
    async with app.run_test(size=(160, 130)) as pilot:  # tall: the whole help on one screen
        await settle(pilot, app)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        shown = app.export_screenshot()
        for words in ("Seek", "Pause", "Search", "Filter", "Copy JSON", "Mark topic", "Sort",
                      "Exact time lag", "stalled", "Key history", "causal_inversion"):  # fmt: skip
            assert words.replace(" ", "&#160;") in shown or words in shown
        await pilot.press("escape")
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for title in ("Seek…", "Seek to beginning", "Filter…", "Pause / resume", "Tail topics…"):
            assert title in titles


async def test_overview_lists_demo_topics_and_groups_and_tails_a_marked_pair():
    app = demo_app(seconds=20, topics=[])
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None)
        overview = app.query_one("#overview-pane")
        await pilot.press("slash", *"pay", "enter")
        assert overview._shown_topics == ["payments"]
        overview.query_one("#overview-filter").value = ""  # clear the filter text
        await pilot.pause(0.1)
        assert "inventory-service" in overview._shown_groups
        table = overview.query_one("#topics")
        table.focus()
        assert overview._shown_topics[table.cursor_row] == "payments"  # the cursor stayed on it
        await pilot.press("space", "space", "enter")
        assert await wait_for(pilot, lambda: app.tail.feed is not None)
        assert app.tail.feed.topics == ["payments", "shipments"]


async def test_trace_from_the_tail_and_by_typing_an_id():
    from evtui.tui.screens.trace import TraceScreen, TraceTree

    app = demo_app(seconds=30)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot, app)
        await wait_for(pilot, lambda: app.tail.feed._indexed_upto == app.tail.feed.store.next)
        sim = app.backend.clock.sim
        corr, events = max(sim.truth.flows.items(), key=lambda kv: len(kv[1]))
        app.tail.set_search(corr[:12])
        await wait_for(pilot, lambda: app.tail.feed.view.pending == 0 and rows(app) > 0)
        await pilot.press("T")
        assert isinstance(app.screen, TraceScreen)
        trace = app.screen.trace
        assert {e.ids.event_id for e in trace.events} <= set(events)
        tree = app.screen.query_one(TraceTree)
        assert tree.root.children  # roots shown, critical path expanded
        await pilot.press("enter")
        assert isinstance(app.screen, DetailScreen)
        await pilot.press("escape", "escape", "ctrl+t", *corr, "enter")
        assert isinstance(app.screen, TraceScreen) and app.screen.trace.correlation_id == corr
        await pilot.press("escape", "ctrl+t", *"nope", "enter")
        assert not isinstance(app.screen, TraceScreen)
